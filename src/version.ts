/** The package version (kept equal to package.json's by test/node/cli.test.ts). */
export const version = '0.1.0';
