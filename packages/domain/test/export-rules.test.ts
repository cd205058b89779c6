import { MAX_EXPORT_PART_SIZE, MIN_EXPORT_PART_SIZE } from '@immish/contracts';
import { describe, expect, it } from 'vitest';
import { exportClientKey } from '../src/exports/limits.ts';
import { exportPartSizeStep } from '../src/exports/service.ts';

describe('exportPartSizeStep', () => {
  const MiB = 1024 * 1024;

  it('should keep powers of two and exact steps, and round anything else down to 1/8 of the power below', () => {
    expect(exportPartSizeStep(MiB)).toBe(MiB);
    expect(exportPartSizeStep(MiB + 7)).toBe(MiB);
    expect(exportPartSizeStep(MiB + 128 * 1024 - 1)).toBe(MiB);
    expect(exportPartSizeStep(MiB + 128 * 1024)).toBe(MiB + 128 * 1024);
    expect(exportPartSizeStep(2 * MiB - 1)).toBe(2 * MiB - 128 * 1024);
    expect(exportPartSizeStep(4 * 1024 ** 3 - 1)).toBe(3.75 * 1024 ** 3); // FAT32-sized parts: 3.75 GiB
    expect(exportPartSizeStep(MAX_EXPORT_PART_SIZE)).toBe(MAX_EXPORT_PART_SIZE);
  });

  it('should never go above the size asked nor more than 12.5% below it', () => {
    for (let size = MIN_EXPORT_PART_SIZE; size < MAX_EXPORT_PART_SIZE; size = Math.ceil(size * 1.0137) + 1) {
      const step = exportPartSizeStep(size);
      expect(step).toBeLessThanOrEqual(size);
      expect(step).toBeGreaterThan(size * 0.875);
      expect(exportPartSizeStep(step)).toBe(step);
    }
  });
});

describe('exportClientKey', () => {
  it('should count an IPv4 address as itself, also when IPv4-mapped', () => {
    expect(exportClientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(exportClientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('should count an IPv6 address by its /64, whatever its notation', () => {
    const key = '2001:db8:1:2::/64';
    for (const address of [
      '2001:db8:1:2::1',
      '2001:0db8:0001:0002:ffff:ffff:ffff:ffff',
      '2001:DB8:1:2:0:0:0:9',
      '2001:db8:1:2::1%eth0',
    ]) {
      expect(exportClientKey(address), address).toBe(key);
    }
    expect(exportClientKey('2001:db8:1:3::1')).not.toBe(key);
    expect(exportClientKey('::1')).toBe('0:0:0:0::/64');
    expect(exportClientKey('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(exportClientKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('should take anything that is not an address as it is', () => {
    expect(exportClientKey('unix-socket')).toBe('unix-socket');
  });
});
