// punycode.js ships no types (@types/punycode describes the deprecated `punycode` core module).
declare module 'punycode.js' {
  const punycode: {
    toASCII(domain: string): string;
    toUnicode(domain: string): string;
  };
  export default punycode;
}
