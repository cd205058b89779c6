"""Independent check of an archive with Python's zipfile.

usage: check_zip.py ARCHIVE EXPECTED_JSON
EXPECTED_JSON holds [{"name", "size", "crc", "dateTime"?: [y, m, d, H, M, S]}] in archive order.
Runs ZipFile.testzip() (reads every entry and verifies its CRC-32), then compares the name list,
sizes, CRC-32s (and DOS date/times when given) with the sources. Prints a JSON summary; exit 1 on
any mismatch.
"""
import json
import sys
import zipfile


def main() -> int:
    archive, expected_path = sys.argv[1], sys.argv[2]
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    problems = []
    with zipfile.ZipFile(archive) as z:
        bad = z.testzip()
        if bad is not None:
            problems.append(f"testzip: bad entry {bad!r}")
        infos = z.infolist()
        names = [i.filename for i in infos]
        expected_names = [e["name"] for e in expected]
        if names != expected_names:
            problems.append(f"names differ: got {len(names)} names, expected {len(expected_names)}; "
                            f"first difference: {next(((a, b) for a, b in zip(names, expected_names) if a != b), None)!r}")
        for info, want in zip(infos, expected):
            if info.file_size != want["size"] or info.compress_size != want["size"]:
                problems.append(f"{info.filename!r}: size {info.file_size}/{info.compress_size}, expected {want['size']}")
            if info.CRC != want["crc"]:
                problems.append(f"{info.filename!r}: CRC {info.CRC:08x}, expected {want['crc']:08x}")
            if info.compress_type != zipfile.ZIP_STORED:
                problems.append(f"{info.filename!r}: method {info.compress_type}, expected STORED")
            if not info.flag_bits & 0x800:
                problems.append(f"{info.filename!r}: UTF-8 flag (bit 11) missing")
            if "dateTime" in want and list(info.date_time) != want["dateTime"]:
                problems.append(f"{info.filename!r}: date_time {info.date_time}, expected {want['dateTime']}")
            if len(problems) > 20:
                break
    print(json.dumps({"entries": len(names), "problems": problems}, ensure_ascii=False))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
