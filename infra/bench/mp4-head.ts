// The head of the synthetic upload both upload clients of `bench:upload` send: enough for the api's
// sniff to see an MP4, then bytes that are never decoded.

/** ftyp (24 bytes) + a 64-bit-size mdat header (16 bytes) that claims the rest of the file. */
export function mp4Head(total: number): Uint8Array {
  const encoder = new TextEncoder();
  const head = new Uint8Array(40);
  const view = new DataView(head.buffer);
  view.setUint32(0, 24);
  head.set(encoder.encode("ftypisom"), 4);
  view.setUint32(12, 0x200);
  head.set(encoder.encode("isomavc1"), 16);
  view.setUint32(24, 1);
  head.set(encoder.encode("mdat"), 28);
  view.setBigUint64(32, BigInt(total - 24));
  return head;
}
