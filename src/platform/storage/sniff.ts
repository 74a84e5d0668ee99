/** The content types an upload may have; each is recognised from its first bytes, not from what the client says. */
export const SNIFFABLE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'] as const;
export type SniffedType = (typeof SNIFFABLE_TYPES)[number];

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
