/**
 * Real images made in the test, small and of any size, and the ways a hostile upload breaks them: cut
 * short, a header that lies about the size (a decompression bomb), the magic bytes of one format on
 * something else.
 */
import { crc32, deflateSync } from 'node:zlib';
import { encode as encodeJpeg } from 'jpeg-js';

function chunk(type: string, data: Buffer) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG of `width` x `height` RGB pixels in a gradient, its IDAT deflated. */
export function png(width: number, height: number) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, truecolour, deflate, no filter, no interlace
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * 3; x++) rows[y * (width * 3 + 1) + 1 + x] = (x + y * 7) & 0xff;
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PNG whose header claims `width` x `height` around a 1x1 image's data: what a bomb looks like to a header reader. */
export function pngClaiming(width: number, height: number) {
  const image = png(1, 1);
  image.writeUInt32BE(width, 16);
  image.writeUInt32BE(height, 20);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(image.subarray(12, 29)));
  crc.copy(image, 29);
  return image;
}

/** A baseline JPEG of `width` x `height`, encoded by jpeg-js. */
export function jpeg(width: number, height: number) {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
  return Buffer.from(encodeJpeg({ width, height, data }, 80).data);
}

/** A JPEG whose frame header (SOF0) claims `width` x `height`. */
export function jpegClaiming(width: number, height: number) {
  const image = jpeg(8, 8);
  const sof = image.indexOf(Buffer.from([0xff, 0xc0]));
  image.writeUInt16BE(height, sof + 5);
  image.writeUInt16BE(width, sof + 7);
  return image;
}

/** A 1x1 lossless WebP (VP8L), as libwebp writes it. */
export const WEBP = Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');

/** An extended WebP (VP8X) whose canvas is `width` x `height`, around the 1x1 image. */
export function webpClaiming(width: number, height: number) {
  const vp8x = Buffer.alloc(18);
  vp8x.write('VP8X', 0, 'latin1');
  vp8x.writeUInt32LE(10, 4);
  vp8x.writeUIntLE(width - 1, 12, 3);
  vp8x.writeUIntLE(height - 1, 15, 3);
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), vp8x, WEBP.subarray(12)]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

/** A real PDF's smallest form: header, one object, trailer, end marker. */
export const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
);
