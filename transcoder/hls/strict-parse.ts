import { getOptions, parse, setOptions, type types } from "hls-parser";

/** hls-parser in strict mode (it would only print what is wrong otherwise); its options are global. */
export function parseStrictly(text: string, what: string): types.MasterPlaylist | types.MediaPlaylist {
  const previous = getOptions();
  setOptions({ ...previous, strictMode: true });
  try {
    return parse(text);
  } catch (error) {
    throw new Error(
      `${what} is not a valid playlist: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    setOptions({ ...previous, strictMode: previous.strictMode ?? false });
  }
}
