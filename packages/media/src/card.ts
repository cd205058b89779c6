import { loadSharp } from './sharp.ts';

/** The link-preview card (Open Graph, issue 21 §8): the size chat apps and social sites show large. */
export const CARD_WIDTH = 1200;
export const CARD_HEIGHT = 630;

/**
 * A 1200×630 JPEG cut from an image (the asset's preview: upright, without metadata), cropped where the
 * picture's interest is rather than blindly in its middle.
 */
export function renderCard(image: Buffer): Promise<Buffer> {
  const sharp = loadSharp();
  return sharp(image)
    .resize(CARD_WIDTH, CARD_HEIGHT, { fit: 'cover', position: sharp.strategy.attention })
    .jpeg({ quality: 80 })
    .toBuffer();
}
