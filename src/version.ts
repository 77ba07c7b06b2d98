/**
 * The package version (the test suite keeps it equal to package.json's).
 * @example
 * console.log(version); // e.g. "0.1.0"
 */
export const version = '0.1.0';
