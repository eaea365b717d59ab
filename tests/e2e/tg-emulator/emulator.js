// Starts telegram-test-api's emulator of the Bot API on the port given, and says "ready".
// The bot (the hub) talks to it as to api.telegram.org; the test plays the user through its
// client routes (/sendMessage, /sendCommand, /getUpdates with the bot's token).
// The package exports the server class itself.
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2] || 9000);
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });
server.start().then(() => {
  console.log(`ready ${server.config.apiURL}`);
});
process.on('SIGTERM', () => server.stop().then(() => process.exit(0)));
