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

/**
 * The last bytes of a stream from some offset on: a walker over a file's structure keeps only what it has yet
 * to read, so an upload of any size is checked in a few bytes of memory.
 */
class ByteWindow {
  start = 0;
  bytes: Buffer = Buffer.alloc(0);

  push(chunk: Buffer) {
    this.bytes = this.bytes.length === 0 ? chunk : Buffer.concat([this.bytes, chunk]);
  }

  get end() {
    return this.start + this.bytes.length;
  }

  has(at: number, length: number) {
    return at >= this.start && at + length <= this.end;
  }

  at(offset: number) {
    return this.bytes[offset - this.start]!;
  }

  /** Forgets every byte before `offset`. */
  drop(offset: number) {
    const cut = Math.min(Math.max(0, offset - this.start), this.bytes.length);
    this.bytes = this.bytes.subarray(cut);
    this.start += cut;
  }
}

/** Reads a file's structure as its bytes arrive; `complete` once they all have, given how many there were. */
interface StructureWalker {
  push(chunk: Buffer): void;
  complete(total: number, head: Buffer): boolean;
}

/** A PNG's chunks follow one another to IEND (what comes after it is ignored, as decoders do). */
function pngWalker(): StructureWalker {
  const window = new ByteWindow();
  let at = PNG.length;
  let end = -1;
  return {
    push(chunk) {
      if (end >= 0) return;
      window.push(chunk);
      while (end < 0 && window.has(at, 12)) {
        const length =
          ((window.at(at) << 24) |
            (window.at(at + 1) << 16) |
            (window.at(at + 2) << 8) |
            window.at(at + 3)) >>>
          0;
        const type = String.fromCharCode(
          window.at(at + 4),
          window.at(at + 5),
          window.at(at + 6),
          window.at(at + 7),
        );
        at += 12 + length;
        if (type === 'IEND') end = at;
      }
      window.drop(at);
    },
    complete: (total) => end >= 0 && end <= total,
  };
}

/**
 * A JPEG's segments lead to a scan, and the image ends with EOI after it. Scan data never holds a bare
 * 0xFFD9 (0xFF is stuffed there), so the first one after the scan starts is the end. Data after EOI (the
 * video of a phone's motion photo) is allowed.
 */
function jpegWalker(): StructureWalker {
  const window = new ByteWindow();
  let at = 2;
  let state: 'segments' | 'scan' | 'complete' | 'broken' = 'segments';

  const segments = () => {
    while (state === 'segments' && window.has(at, 4)) {
      if (window.at(at) !== 0xff) {
        state = 'broken';
        return;
      }
      const marker = window.at(at + 1);
      // Fill bytes and the markers that carry no length.
      if (marker === 0xff) at += 1;
      else if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) at += 2;
      else if (marker === 0xd9) state = 'broken';
      else {
        at += 2 + ((window.at(at + 2) << 8) | window.at(at + 3));
        if (marker === 0xda) state = 'scan';
      }
    }
  };

  const scan = () => {
    // An 0xFF that ends what has arrived may begin the EOI: it stays.
    for (let ff = window.bytes.indexOf(0xff, Math.max(0, at - window.start)); ff !== -1; ) {
      if (ff + 1 >= window.bytes.length) {
        at = window.start + ff;
        return;
      }
      if (window.bytes[ff + 1] === 0xd9) {
        state = 'complete';
        return;
      }
      ff = window.bytes.indexOf(0xff, ff + 1);
    }
    at = Math.max(at, window.end);
  };

  return {
    push(chunk) {
      if (state === 'complete' || state === 'broken') return;
      window.push(chunk);
      if (state === 'segments') segments();
      if (state === 'scan') scan();
      window.drop(at);
    },
    complete: () => state === 'complete',
  };
}

/** A WebP's RIFF container holds as many bytes as its header says. */
const webpWalker = (): StructureWalker => ({
  push() {},
  complete: (total, head) =>
    head.length >= 8 &&
    total >= (8 + (head[4]! | (head[5]! << 8) | (head[6]! << 16) | (head[7]! << 24))) >>> 0,
});

const WALKERS: Record<ImageType, () => StructureWalker> = {
  'image/jpeg': jpegWalker,
  'image/png': pngWalker,
  'image/webp': webpWalker,
};

export interface DecodedImage {
  type: ImageType;
  width: number;
  height: number;
}

/**
 * What an image's header says it is and how large, read by `image-size` (the type from the header's own
 * structure, the dimensions from IHDR, SOFn or the VP8 frame). `undefined` when it does not decode.
 */
function decodeHeader(head: Uint8Array): DecodedImage | undefined {
  let size: ReturnType<typeof imageSize>;
  try {
    size = imageSize(head);
  } catch {
    return undefined;
  }
  const type = DECODED_TYPES[size.type ?? ''];
  const { width, height } = size;
  if (!type || !(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    return undefined;
  }
  return { type, width, height };
}

/**
 * How much of the start of a file is kept for its header: an image's size is read there (a JPEG's frame
 * header comes after its metadata segments, each at most 64 KB: EXIF, XMP, an ICC profile).
 */
export const HEAD_BYTES = 1024 * 1024;
/** A PDF ends with `%%EOF`; readers look for it in the last kilobyte, which trailing bytes may follow. */
const PDF_TAIL_BYTES = 1024;

export interface InspectedContent {
  /** What the first bytes say the file is. */
  sniffed: SniffedType | undefined;
  /** The type the whole file decodes as, when it is complete as far as its structure shows. */
  decoded: SniffedType | undefined;
  /** An image's header. */
  image: DecodedImage | undefined;
}

/**
 * Inspects a file as its bytes arrive, keeping its head, its last kilobyte and what its structure still
 * owes: what it is (`sniffContentType`), what its header says, and whether it is complete without decoding
 * the pixels.
 */
export function createContentInspector() {
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let tail = Buffer.alloc(0);
  let total = 0;
  // Chunks that came before the 16 bytes sniffing reads: the walker takes them once it is chosen.
  let pending: Buffer[] | undefined = [];
  let walker: StructureWalker | undefined;
  let sniffed: SniffedType | undefined;

  const sniff = (bytes: Buffer) => {
    pending = undefined;
    sniffed = sniffContentType(bytes);
    if (sniffed && sniffed !== 'application/pdf') {
      walker = WALKERS[sniffed]();
      walker.push(bytes);
    }
  };

  return {
    push(chunk: Buffer) {
      total += chunk.length;
      if (headLength < HEAD_BYTES) {
        const part = chunk.subarray(0, HEAD_BYTES - headLength);
        headChunks.push(part);
        headLength += part.length;
      }
      tail = Buffer.concat([tail, chunk.subarray(-PDF_TAIL_BYTES)]).subarray(-PDF_TAIL_BYTES);
      if (!pending) walker?.push(chunk);
      else {
        pending.push(chunk);
        if (total >= 16) sniff(Buffer.concat(pending));
      }
    },

    finish(): InspectedContent {
      if (pending) sniff(Buffer.concat(pending));
      if (sniffed === 'application/pdf') {
        return { sniffed, decoded: tail.includes('%%EOF') ? sniffed : undefined, image: undefined };
      }
      const head = Buffer.concat(headChunks);
      const image = sniffed ? decodeHeader(head) : undefined;
      const complete = image?.type === sniffed && walker?.complete(total, head);
      return { sniffed, decoded: complete ? image?.type : undefined, image };
    },
  };
}

/** Inspects a whole file at once. */
export function inspectContent(bytes: Uint8Array): InspectedContent {
  const inspector = createContentInspector();
  inspector.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return inspector.finish();
}
