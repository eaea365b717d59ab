/* What a page keeps in the browser (a device's token, the chosen language). Private windows and
   locked-down kiosks may refuse storage: then nothing is kept and nothing breaks. */

export function stored(key) { try { return localStorage.getItem(key); } catch (_) { return null; } }
export function store(key, value) {
  try { if (value == null) localStorage.removeItem(key); else localStorage.setItem(key, value); } catch (_) { /* private mode */ }
}
