// A film of any size that is never held whole: a real short MP4 followed by one `free` box (64-bit size)
// that pads it to the size asked for. Players and FFmpeg skip the box, so a 1 GiB upload still
// transcodes in seconds. Any byte range is generated on demand (tus-js-client reads it slice by slice
// through `fileReader`), and the box's filler is stamped with its offset every 64 KiB, so a chunk
// stored at the wrong place, twice, or not at all cannot compare equal.
import { randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import type { UploadOptions } from "tus-js-client";

const FILLER_BYTES = 1024 * 1024;
const STAMP_EVERY = 64 * 1024;
const BOX_HEADER_BYTES = 16;
const COMPARE_BYTES = 8 * 1024 * 1024;

export class GeneratedFilm {
  private readonly head: Uint8Array;
  private readonly filler = randomBytes(FILLER_BYTES);

  constructor(
    mp4: Uint8Array,
    readonly size: number,
  ) {
    if (size < mp4.byteLength + BOX_HEADER_BYTES + STAMP_EVERY)
      throw new Error(`a ${size}-byte film is too small`);
    this.head = new Uint8Array(mp4.byteLength + BOX_HEADER_BYTES);
    this.head.set(mp4);
    const box = new DataView(this.head.buffer, mp4.byteLength);
    box.setUint32(0, 1); // the size is the 64-bit one after the type
    this.head.set(new TextEncoder().encode("free"), mp4.byteLength + 4);
    box.setBigUint64(8, BigInt(size - mp4.byteLength));
  }

  /** Bytes [start, end) of the film. */
  slice(start: number, end: number): Uint8Array {
    end = Math.min(end, this.size);
    const out = new Uint8Array(Math.max(0, end - start));
    for (let at = start; at < end; ) {
      const from = at % FILLER_BYTES;
      const length = Math.min(FILLER_BYTES - from, end - at);
      out.set(this.filler.subarray(from, from + length), at - start);
      at += length;
    }
    const stamp = new Uint8Array(8);
    const stampView = new DataView(stamp.buffer);
    const firstStamp = Math.max(
      Math.ceil(this.head.byteLength / STAMP_EVERY),
      Math.floor(start / STAMP_EVERY),
    );
    for (let at = firstStamp * STAMP_EVERY; at < end; at += STAMP_EVERY) {
      stampView.setBigUint64(0, BigInt(at));
      const skip = Math.max(0, start - at);
      const bytes = stamp.subarray(skip, Math.min(8, end - at));
      out.set(bytes, at + skip - start);
    }
    if (start < this.head.byteLength) out.set(this.head.subarray(start, Math.min(end, this.head.byteLength)));
    return out;
  }

  /** What tus-js-client reads the film through. */
  fileReader(): NonNullable<UploadOptions["fileReader"]> {
    return {
      openFile: async () => ({
        size: this.size,
        slice: async (start: number, end: number) => {
          // The client reads a slice's length from `size`, as its own Buffer source sets it.
          const value = Object.assign(this.slice(start, end), { size: Math.min(end, this.size) - start });
          return { value, done: end >= this.size };
        },
        close: () => {},
      }),
    };
  }

  /** Whether the file at `path` holds exactly this film (read and compared 8 MiB at a time). */
  async storedAt(path: string): Promise<boolean> {
    const handle = await open(path, "r");
    try {
      if ((await handle.stat()).size !== this.size) return false;
      const block = Buffer.allocUnsafe(COMPARE_BYTES);
      for (let offset = 0; offset < this.size; ) {
        const { bytesRead } = await handle.read(
          block,
          0,
          Math.min(COMPARE_BYTES, this.size - offset),
          offset,
        );
        if (bytesRead === 0) return false;
        if (!block.subarray(0, bytesRead).equals(this.slice(offset, offset + bytesRead))) return false;
        offset += bytesRead;
      }
      return true;
    } finally {
      await handle.close();
    }
  }
}
