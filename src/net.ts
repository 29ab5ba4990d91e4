import { isIP } from "node:net";

/**
 * The IPv4 address an IPv6 address carries, if it is one of the forms that reach an IPv4 host:
 * IPv4-mapped (`::ffff:a.b.c.d`, also written `::ffff:7f00:3`) and the NAT64 well-known prefix
 * (`64:ff9b::a.b.c.d`). Whoever compares or judges addresses must judge that IPv4 address, or
 * `[::ffff:127.0.0.3]` passes a rule about 127.0.0.3.
 */
export function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase().replace(/^\[|\]$/g, "");
  if (isIP(lower) !== 6) return undefined;
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  if (dotted) return isIP(dotted) === 4 ? dotted : undefined;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex == null) return undefined;
  const [hi, lo] = [Number.parseInt(hex[1] ?? "0", 16), Number.parseInt(hex[2] ?? "0", 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * A host (with its port, as `URL.host` gives it) in the one form that comparisons use:
 * lowercase, IPv4 in dotted decimal whatever way it was written (`2130706435`, `0x7f.0.0.3`),
 * IPv6 compressed, and IPv6 that carries an IPv4 address as that IPv4 address.
 * @returns undefined for something that is not a host.
 */
export function canonicalHost(host: string): string | undefined {
  if (!URL.canParse(`http://${host}`)) return undefined;
  const url = new URL(`http://${host}`);
  if (url.host === "" || url.pathname !== "/" || url.username || url.password) return undefined;
  const ipv4 = embeddedIpv4(url.hostname);
  return ipv4 ? `${ipv4}${url.port ? `:${url.port}` : ""}` : url.host;
}
