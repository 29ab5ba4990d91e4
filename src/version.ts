import pkg from "../package.json" with { type: "json" };

/** The server software's name and version, as NodeInfo and the User-Agent give them. */
export const software = {
  name: pkg.name,
  version: pkg.version,
} as const;
