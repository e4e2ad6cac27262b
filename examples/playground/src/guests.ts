// Every prebuilt example image (examples/<name>/<file>.elf) becomes an asset of the page;
// Vite copies them at build time, and a new example shows up without touching this file.
const urls = import.meta.glob('../../*/*.elf', { query: '?url', import: 'default', eager: true }) as Record<string, string>;

export interface Guest {
  /** `hello/hello.elf`: example folder and file. */
  readonly name: string;
  readonly url: string;
}

export const guests: readonly Guest[] = Object.entries(urls)
  .map(([path, url]) => ({ name: path.replace(/^(\.\.\/)+/, ''), url }))
  .sort((a, b) => a.name.localeCompare(b.name));

export async function fetchGuest(guest: Guest): Promise<Uint8Array> {
  const res = await fetch(guest.url);
  if (!res.ok) throw new Error(`${guest.name}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}
