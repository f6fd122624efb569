// lz4js ships no types; only the two functions the MCAP codec uses.
declare module 'lz4js' {
  const lz4: {
    compress(buffer: Uint8Array, maxSize?: number): Uint8Array | number[];
    decompress(buffer: Uint8Array, maxSize?: number): Uint8Array | number[];
  };
  export default lz4;
}
