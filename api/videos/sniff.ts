// Recognises media containers by their first bytes, so an empty file, a text file renamed .mp4 or
// random bytes are refused at upload (415) instead of costing a transcoder a job.

export const SNIFF_BYTES = 1024;

const ascii = (bytes: Uint8Array, offset: number, text: string) =>
  text.split("").every((char, index) => bytes[offset + index] === char.charCodeAt(0));

const startsWith = (bytes: Uint8Array, signature: number[]) =>
  signature.every((byte, index) => bytes[index] === byte);

/** MPEG transport stream: a 0x47 sync byte every 188 bytes. */
const isMpegTs = (bytes: Uint8Array) =>
  bytes.length >= 188 * 3 && [0, 188, 376].every((offset) => bytes[offset] === 0x47);

const SIGNATURES: Array<(bytes: Uint8Array) => boolean> = [
  // ISO BMFF (MP4, MOV, 3GP, M4V): a box type at offset 4.
  (b) => ["ftyp", "moov", "mdat", "free", "wide", "skip", "pnot"].some((box) => ascii(b, 4, box)),
  (b) => startsWith(b, [0x1a, 0x45, 0xdf, 0xa3]), // Matroska / WebM (EBML)
  (b) => ascii(b, 0, "RIFF") && (ascii(b, 8, "AVI ") || ascii(b, 8, "AMV ")), // AVI
  (b) => startsWith(b, [0x00, 0x00, 0x01, 0xba]) || startsWith(b, [0x00, 0x00, 0x01, 0xb3]), // MPEG-PS / ES
  (b) => ascii(b, 0, "FLV"),
  (b) => ascii(b, 0, "OggS"),
  (b) => startsWith(b, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11]), // ASF / WMV
  isMpegTs,
];

export function looksLikeMediaContainer(head: Uint8Array): boolean {
  return head.length >= 12 && SIGNATURES.some((matches) => matches(head));
}
