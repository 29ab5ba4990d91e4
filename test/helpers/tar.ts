/**
 * Reads a `.tar.gz` (ustar) into its entries, for tests that check what an archive holds. An
 * independent reader: it checks each header's checksum, so a writer that got it wrong fails.
 */
import { gunzipSync } from "node:zlib";

export function readTarGz(bytes: Uint8Array): Map<string, Buffer> {
  const tar = gunzipSync(bytes);
  const entries = new Map<string, Buffer>();
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] as number);
    if (Number.parseInt(field(148, 8).trim(), 8) !== sum) throw new Error(`Bad checksum at ${offset}`);
    if (field(257, 6) !== "ustar") throw new Error(`Not a ustar header at ${offset}`);
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = Number.parseInt(field(124, 12).trim(), 8);
    entries.set(name, Buffer.from(tar.subarray(offset + 512, offset + 512 + size)));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}
