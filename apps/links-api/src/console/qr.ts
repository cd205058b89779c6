import { encode } from 'uqr';

/**
 * A URL as QR modules (uqr: small, no dependencies, runs in the browser and in Node): the side length and one SVG
 * path of the dark modules, for the bundle (drawn in the page) and for the page without JavaScript.
 */
export function qrModules(text: string): { size: number; path: string } {
  const qr = encode(text, { ecc: 'M', border: 4 });
  let path = '';
  qr.data.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) path += `M${x} ${y}h1v1h-1z`;
    });
  });
  return { size: qr.size, path };
}
