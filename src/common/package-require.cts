import { createRequire } from 'node:module';

/**
 * `require` as seen from this package's own folder, in both of its builds. A `.cts` file is CommonJS
 * in the ES module build too, so `__filename` is there without `import.meta` (which CommonJS cannot
 * parse): one source for both. Peers resolve from here to the copies the application itself uses.
 */
export const packageRequire: NodeJS.Require = createRequire(__filename);
