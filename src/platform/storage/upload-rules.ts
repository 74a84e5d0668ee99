import { AppError, RuleViolationError } from '../errors.ts';
import type { FILE_PURPOSES } from './schema.ts';
import type { InspectedContent, SniffedType } from './sniff.ts';

export type FilePurpose = (typeof FILE_PURPOSES)[number];

export const MiB = 1024 * 1024;

export interface UploadRule {
  types: readonly SniffedType[];
  maxBytes: number;
  /** What the rule accepts, in words, for error messages. */
  accepts: string;
}

/** What each purpose accepts. Purposes without a rule cannot be uploaded yet (their module adds one). */
export const UPLOAD_RULES = {
  profile_photo: {
    types: ['image/jpeg', 'image/png', 'image/webp'],
    maxBytes: 5 * MiB,
    accepts: 'a JPEG, PNG or WebP image',
  },
  verification_evidence: {
    types: ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'],
    maxBytes: 10 * MiB,
    accepts: 'a JPEG, PNG or WebP image or a PDF',
  },
  order_photo: {
    types: ['image/jpeg', 'image/png', 'image/webp'],
    maxBytes: 10 * MiB,
    accepts: 'a JPEG, PNG or WebP image',
  },
  dispute_evidence: {
    types: ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'],
    maxBytes: 10 * MiB,
    accepts: 'a JPEG, PNG or WebP image or a PDF',
  },
  chat_attachment: {
    types: ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'],
    maxBytes: 10 * MiB,
    accepts: 'a JPEG, PNG or WebP image or a PDF',
  },
} as const satisfies Partial<Record<FilePurpose, UploadRule>>;

export type UploadPurpose = keyof typeof UPLOAD_RULES;
export const UPLOAD_PURPOSES = Object.keys(UPLOAD_RULES) as UploadPurpose[];
/** The largest upload any purpose accepts: the body limit of the upload route. */
export const MAX_UPLOAD_BYTES = Math.max(...Object.values(UPLOAD_RULES).map((r) => r.maxBytes));
/** Every content type some purpose accepts: what the upload route parses. */
export const UPLOAD_CONTENT_TYPES = [
  ...new Set(Object.values(UPLOAD_RULES).flatMap((r) => r.types)),
] as SniffedType[];

/**
 * The largest image accepted, per side and in all: the header is all that is read here, but whoever shows
 * or scales the image decodes every pixel (60 megapixels are 240 MB as RGBA), and a few kilobytes of
 * compressed data can claim far more (a decompression bomb). A 50-megapixel phone camera fits.
 */
export const MAX_IMAGE_SIDE = 12_000;
export const MAX_IMAGE_PIXELS = 60_000_000;

/** The `storage_quota_bytes` setting's default: what one account's files may take in all. */
export const DEFAULT_STORAGE_QUOTA_BYTES = 200 * MiB;

/** The client's file name as metadata: no directories, no control characters, at most 255 characters. */
export function cleanOriginalName(name: string | undefined): string | null {
  if (name === undefined) return null;
  const base = name.split(/[/\\]/).pop() ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return clean.length > 0 ? clean.slice(0, 255) : null;
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string, code = 'unsupported_media_type') {
    super(415, code, message);
  }
}

export const megabytes = (bytes: number) => `${Math.round((bytes / MiB) * 10) / 10} MB`;

/**
 * What the bytes decode as, checked against what the purpose accepts and what the client declared: an
 * image's header must decode (type, dimensions) and its structure be complete, a PDF must end as one, the
 * decoded type must be the declared one, and an image must be within the size limits.
 */
export function checkContent(
  purpose: UploadPurpose,
  rule: UploadRule,
  declared: string,
  { sniffed, decoded, image }: InspectedContent,
): SniffedType {
  if (!sniffed || !rule.types.includes(sniffed)) {
    throw new UnsupportedMediaTypeError(`the file is not ${rule.accepts}`);
  }
  if (!decoded) {
    throw new UnsupportedMediaTypeError(
      `the file does not decode as ${sniffed}: it is damaged or incomplete`,
      'file_not_decodable',
    );
  }
  if (decoded !== declared) {
    throw new UnsupportedMediaTypeError(
      `the file was sent as ${declared} but its content is ${decoded}`,
      'file_type_mismatch',
    );
  }
  if (
    image &&
    (Math.max(image.width, image.height) > MAX_IMAGE_SIDE || image.width * image.height > MAX_IMAGE_PIXELS)
  ) {
    throw new RuleViolationError(
      'image_too_large',
      `a ${purpose.replaceAll('_', ' ')} may be at most ${MAX_IMAGE_SIDE} pixels a side and ${MAX_IMAGE_PIXELS / 1_000_000} megapixels; this one is ${image.width}x${image.height}`,
    );
  }
  return decoded;
}

export const tooLarge = (purpose: string | undefined, maxBytes: number) =>
  new AppError(
    413,
    'file_too_large',
    `${purpose ? `a ${purpose.replaceAll('_', ' ')}` : 'an upload'} may be at most ${maxBytes / MiB} MB`,
  );
