export { CARD_HEIGHT, CARD_WIDTH, renderCard } from './card.ts';
export {
  type Derivatives,
  genericThumbnail,
  PREVIEW_SIZE,
  type RenderOptions,
  renderDerivatives,
  THUMBNAIL_SIZE,
} from './derivatives.ts';
export { isMediaError, MediaError, type MediaErrorCode } from './errors.ts';
export {
  type AssetType,
  formatForMime,
  isHeicDecodable,
  MEDIA_TYPES,
  type MediaFormat,
  type MediaTypes,
  SUPPORTED_FORMATS,
} from './formats.ts';
export { type HeifPrimary, readHeifPrimary } from './isobmff.ts';
export {
  makeRendition,
  type PhoneRenderOptions,
  RENDITION_SHORT_SIDE,
  type RenditionOptions,
  renderHeifDerivatives,
  renderVideoPoster,
} from './phone.ts';
export { thumbhashDataUrl } from './placeholder.ts';
export {
  DEFAULT_MAX_PIXELS,
  type ExifInfo,
  type ImageHeader,
  type ProbeOptions,
  type ProbeResult,
  probeMedia,
} from './probe.ts';
export { type SniffResult, sniffBuffer, sniffFile, sniffFileOrThrow } from './sniff.ts';
export {
  canStripMetadata,
  createMetadataStripper,
  type MetadataStripperOptions,
  measureStrippedSize,
  STRIPPABLE_MIME_TYPES,
} from './strip/index.ts';
export { pngChunk } from './strip/png.ts';
export { DEFAULT_WEBP_BUFFER_BYTES } from './strip/webp.ts';
export {
  detectMediaTools,
  type MediaTools,
  NO_MEDIA_TOOLS,
  type RunToolOptions,
  runTool,
  ToolError,
  type ToolResult,
} from './tools.ts';
export { isWebPlayable, parseIso6709, probeVideoFile, type VideoInfo } from './video-probe.ts';
