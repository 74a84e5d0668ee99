import { imageSize } from 'image-size';

/** The content types an upload may have; each is recognised from its first bytes, not from what the client says. */
export const SNIFFABLE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'] as const;
export type SniffedType = (typeof SNIFFABLE_TYPES)[number];
export type ImageType = Exclude<SniffedType, 'application/pdf'>;

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const startsWith = (bytes: Uint8Array, prefix: readonly number[], offset = 0) =>
  bytes.length >= offset + prefix.length && prefix.every((b, i) => bytes[offset + i] === b);

const ascii = (bytes: Uint8Array, start: number, end: number) =>
  bytes.length >= end ? String.fromCharCode(...bytes.subarray(start, end)) : '';

/**
 * Recognises JPEG, PNG, WebP and PDF from their magic bytes, with one more structural check where the
 * format has one near the start (PNG's IHDR chunk, WebP's VP8 chunk), so a text file with a borrowed
 * prefix is not taken for an image. Anything else is `undefined`.
 */
export function sniffContentType(bytes: Uint8Array): SniffedType | undefined {
  // JPEG: SOI marker followed by the start of another marker.
  if (startsWith(bytes, [0xff, 0xd8, 0xff]) && bytes.length >= 4) return 'image/jpeg';
  // PNG: the 8-byte signature, then the IHDR chunk that must come first.
  if (startsWith(bytes, PNG) && ascii(bytes, 12, 16) === 'IHDR') return 'image/png';
  // WebP: a RIFF container of form WEBP whose first chunk is VP8, VP8L or VP8X.
  if (
    ascii(bytes, 0, 4) === 'RIFF' &&
    ascii(bytes, 8, 12) === 'WEBP' &&
    /^VP8[ LX]$/.test(ascii(bytes, 12, 16))
  )
    return 'image/webp';
  // PDF: the header `%PDF-1.x` or `%PDF-2.0`.
  if (/^%PDF-[12]\.\d/.test(ascii(bytes, 0, 8))) return 'application/pdf';
  return undefined;
}

/** `image/PNG; charset=x` -> `image/png`: the media type without parameters. */
export const mediaTypeEssence = (contentType: string | undefined) =>
  (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();

const DECODED_TYPES: Record<string, ImageType> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

const u32be = (bytes: Uint8Array, at: number) =>
  ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;

/** A PNG's chunks follow one another to IEND (what comes after it is ignored, as decoders do). */
function pngIsComplete(bytes: Uint8Array) {
  let at = PNG.length;
  while (at + 12 <= bytes.length) {
    const type = ascii(bytes, at + 4, at + 8);
    at += 12 + u32be(bytes, at);
    if (type === 'IEND') return at <= bytes.length;
  }
  return false;
}

/**
 * A JPEG's segments lead to a scan, and the image ends with EOI after it. Scan data never holds a bare
 * 0xFFD9 (0xFF is stuffed there), so the first one after the scan starts is the end. Data after EOI (the
 * video of a phone's motion photo) is allowed.
 */
function jpegIsComplete(bytes: Uint8Array) {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return false;
    const marker = bytes[at + 1]!;
    // Fill bytes and the markers that carry no length.
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9) return false;
    const segmentEnd = at + 2 + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
    if (marker === 0xda) return segmentEnd < bytes.length && findEoi(bytes, segmentEnd);
    at = segmentEnd;
  }
  return false;
}

function findEoi(bytes: Uint8Array, from: number) {
  for (let at = bytes.indexOf(0xff, from); at !== -1; at = bytes.indexOf(0xff, at + 1)) {
    if (bytes[at + 1] === 0xd9) return true;
  }
  return false;
}

/** A WebP's RIFF container holds as many bytes as its header says. */
const webpIsComplete = (bytes: Uint8Array) =>
  bytes.length >= (8 + (bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24))) >>> 0;

const IS_COMPLETE: Record<ImageType, (bytes: Uint8Array) => boolean> = {
  'image/jpeg': jpegIsComplete,
  'image/png': pngIsComplete,
  'image/webp': webpIsComplete,
};

export interface DecodedImage {
  type: ImageType;
  width: number;
  height: number;
}

/**
 * What an image's header says it is and how large, read by `image-size` (the type from the header's own
 * structure, the dimensions from IHDR, SOFn or the VP8 frame), and only if the file is complete as far as
 * its structure shows without decoding the pixels. `undefined` when it does not decode.
 */
export function decodeImage(bytes: Uint8Array): DecodedImage | undefined {
  let size: ReturnType<typeof imageSize>;
  try {
    size = imageSize(bytes);
  } catch {
    return undefined;
  }
  const type = DECODED_TYPES[size.type ?? ''];
  const { width, height } = size;
  if (!type || !(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    return undefined;
  }
  return IS_COMPLETE[type](bytes) ? { type, width, height } : undefined;
}

/** A PDF ends with `%%EOF`; readers look for it in the last kilobyte, which trailing bytes may follow. */
export const pdfIsComplete = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .subarray(Math.max(0, bytes.length - 1024))
    .includes('%%EOF');
