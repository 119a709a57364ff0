/** Vite's raw imports (a file's text), e.g. the README in the access-matrix test. */
declare module '*.md?raw' {
  const text: string;
  export default text;
}
declare module '*.toml?raw' {
  const text: string;
  export default text;
}
