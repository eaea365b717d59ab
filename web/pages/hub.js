/* The pages' common kit, one import for a page: `import * as Hub from './hub.js'`. Each part is
   its own module (words and language, building the page, the API client, the message line, the
   live socket, formats, files, conversations, the kiosk menu, a device's sign-in); this one
   gathers them and, when first imported, words the static markup, draws the icons and mounts the
   RU/EN toggles. Modules run after the document is parsed, so a page's module may build on the
   markup at once. */
import { applyI18n, lang, mountLangToggles } from './i18n.js';
import { mountIcons } from './icons.js';

export * from './api.js';
export * from './conversation.js';
export * from './device.js';
export * from './dom.js';
export * from './files.js';
export * from './format.js';
export * from './i18n.js';
export * from './icons.js';
export * from './menu.js';
export * from './message.js';
export * from './socket.js';
export * from './storage.js';

document.documentElement.lang = lang;
mountLangToggles();
applyI18n(document);
mountIcons(document);
