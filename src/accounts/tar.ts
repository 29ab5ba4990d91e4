/**
 * A small streaming writer of POSIX ustar archives (what `tar` reads everywhere), for the data
 * exports: entries are produced one at a time, each with its size known before its bytes (a
 * buffer, or a file whose size is read first), so nothing larger than one entry's buffer is
 * held. Compress the stream with node:zlib's gzip for a `.tar.gz`.
 * @module
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";

/** One entry: bytes in memory, or a file on disk streamed when its turn comes. */
export type TarEntry =
  | { readonly name: string; readonly data: Uint8Array; readonly mtime?: Date }
  | { readonly name: string; readonly path: string; readonly mtime?: Date };

const block = 512;

/** An octal field of `width` bytes: digits, then a NUL. */
function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/**
 * The 512-byte ustar header of an entry. Names longer than 100 bytes are split at a `/` into
 * the 155-byte prefix; a name that cannot be split so is refused.
 */
export function tarHeader(name: string, size: number, mtime: Date): Uint8Array {
  const bytes = Buffer.from(name, "utf8");
  let prefix = Buffer.alloc(0);
  let rest = bytes;
  if (bytes.length > 100) {
    const cut = name.lastIndexOf("/", 155);
    if (cut <= 0) throw new Error(`The name ${name} is too long for a tar entry.`);
    prefix = Buffer.from(name.slice(0, cut), "utf8");
    rest = Buffer.from(name.slice(cut + 1), "utf8");
    if (prefix.length > 155 || rest.length > 100) throw new Error(`The name ${name} is too long for a tar entry.`);
  }
  const header = Buffer.alloc(block, 0);
  rest.copy(header, 0);
  header.write(octal(0o644, 8), 100, "ascii");
  header.write(octal(0, 8), 108, "ascii");
  header.write(octal(0, 8), 116, "ascii");
  header.write(octal(size, 12), 124, "ascii");
  header.write(octal(Math.floor(mtime.getTime() / 1000), 12), 136, "ascii");
  header.write("        ", 148, "ascii"); // the checksum counts itself as spaces
  header.write("0", 156, "ascii"); // a regular file
  header.write("ustar\0", 257, "ascii");
  header.write("00", 263, "ascii");
  prefix.copy(header, 345);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return header;
}

function padding(size: number): Uint8Array {
  const rest = size % block;
  return rest === 0 ? new Uint8Array(0) : new Uint8Array(block - rest);
}

/**
 * The archive of these entries as a stream of chunks, ended by the two empty blocks ustar
 * requires. A file that shrank since its size was read would corrupt the archive, so its
 * bytes are counted and a mismatch throws.
 */
export async function* tarStream(entries: AsyncIterable<TarEntry> | Iterable<TarEntry>): AsyncGenerator<Uint8Array> {
  for await (const entry of entries) {
    const mtime = entry.mtime ?? new Date();
    if ("data" in entry) {
      yield tarHeader(entry.name, entry.data.length, mtime);
      yield entry.data;
      yield padding(entry.data.length);
      continue;
    }
    const { size } = await stat(entry.path);
    yield tarHeader(entry.name, size, mtime);
    let written = 0;
    for await (const chunk of createReadStream(entry.path, { end: size === 0 ? 0 : size - 1 })) {
      if (size === 0) break;
      written += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (written !== size) throw new Error(`${entry.path} changed while it was archived.`);
    yield padding(size);
  }
  yield new Uint8Array(block * 2);
}
