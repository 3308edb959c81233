// Recognises media containers by their first bytes, so an empty file, a text file renamed .mp4 or
// random bytes are refused at upload (415) instead of costing a transcoder a job. Hand-written rather
// than file-type: that library takes `<!--free-->` + a DASH manifest for a QuickTime movie.

export const SNIFF_BYTES = 1024;

/** The container recognised, and the extension its source is stored under (never the client's). */
export interface SniffedContainer {
  name: string;
  extension: string;
}

const ascii = (bytes: Uint8Array, offset: number, text: string) =>
  text.split("").every((char, index) => bytes[offset + index] === char.charCodeAt(0));

const startsWith = (bytes: Uint8Array, signature: number[]) =>
  signature.every((byte, index) => bytes[index] === byte);

/** MPEG transport stream: a 0x47 sync byte every 188 bytes. */
const isMpegTs = (bytes: Uint8Array) =>
  bytes.length >= 188 * 3 && [0, 188, 376].every((offset) => bytes[offset] === 0x47);

const ISO_TOP_LEVEL_BOXES = ["ftyp", "moov", "mdat", "free", "wide", "skip", "pnot", "uuid"];
/** Boxes that may legitimately run past the sniffed head (the media data, the index). */
const ISO_LONG_BOXES = ["mdat", "moov"];

const uint32 = (bytes: Uint8Array, offset: number) =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
  0;

/**
 * ISO BMFF (MP4, MOV, 3GP, M4V): a chain of well-formed top-level boxes. A box name at offset 4 is
 * not enough: `<!--skip-->` reads as a 1 GB "skip" box and starts an XML (DASH) manifest.
 */
function isIsoBmff(bytes: Uint8Array): boolean {
  let offset = 0;
  for (let boxes = 0; offset + 8 <= bytes.length && boxes < 16; boxes++) {
    const type = ISO_TOP_LEVEL_BOXES.find((box) => ascii(bytes, offset + 4, box));
    if (!type) return false;
    let size = uint32(bytes, offset);
    if (size === 1) {
      if (offset + 16 > bytes.length || uint32(bytes, offset + 8) !== 0) return false;
      size = uint32(bytes, offset + 12);
      if (size < 16) return false;
    } else if (size === 0) {
      return ISO_LONG_BOXES.includes(type); // runs to the end of the file
    } else if (size < 8) {
      return false;
    }
    if (type === "ftyp") return size <= 4096;
    if (offset + size > bytes.length) return ISO_LONG_BOXES.includes(type);
    offset += size;
  }
  return false;
}

const SIGNATURES: Array<SniffedContainer & { matches: (bytes: Uint8Array) => boolean }> = [
  { name: "ISO BMFF", extension: "mp4", matches: isIsoBmff },
  { name: "Matroska", extension: "mkv", matches: (b) => startsWith(b, [0x1a, 0x45, 0xdf, 0xa3]) },
  {
    name: "AVI",
    extension: "avi",
    matches: (b) => ascii(b, 0, "RIFF") && (ascii(b, 8, "AVI ") || ascii(b, 8, "AMV ")),
  },
  {
    name: "MPEG-PS",
    extension: "mpg",
    matches: (b) => startsWith(b, [0x00, 0x00, 0x01, 0xba]) || startsWith(b, [0x00, 0x00, 0x01, 0xb3]),
  },
  { name: "FLV", extension: "flv", matches: (b) => ascii(b, 0, "FLV") },
  { name: "Ogg", extension: "ogg", matches: (b) => ascii(b, 0, "OggS") },
  {
    name: "ASF",
    extension: "wmv",
    matches: (b) => startsWith(b, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11]),
  },
  { name: "MPEG-TS", extension: "ts", matches: isMpegTs },
];

/** Mostly printable ASCII: a manifest, playlist or list behind a container's magic bytes (media is binary). */
function isText(head: Uint8Array): boolean {
  const printable = head.filter(
    (byte) => (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d,
  );
  return printable.length >= head.length * 0.95;
}

export function sniffContainer(head: Uint8Array): SniffedContainer | null {
  if (head.length < 12 || isText(head)) return null;
  const found = SIGNATURES.find((signature) => signature.matches(head));
  return found ? { name: found.name, extension: found.extension } : null;
}

export function looksLikeMediaContainer(head: Uint8Array): boolean {
  return sniffContainer(head) !== null;
}
