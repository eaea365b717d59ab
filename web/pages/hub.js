/* Hub shared browser helpers: API calls, i18n, WebSocket with reconnect, DOM building.
   Every piece of server or user text goes into the page through textContent (see el()/setText())
   or esc(); nothing from data is ever assigned to innerHTML. */
'use strict';
(function (global) {
  const DICT = {
    en: {
      'common.done': 'Done', 'common.back': 'Back', 'common.none': '—',
      'title.index': 'Hub — electronic queue', 'title.login': 'Sign in — Hub',
      'title.operator': 'Operator console — Hub', 'title.kiosk': 'Kiosk — Hub',
      'title.board': 'Queue board — Hub', 'title.ticket': 'Your ticket — Hub',
      'title.registrar': 'Take a ticket — Hub',
      'index.lead': 'Self-hosted electronic queue and contact centre.',
      'index.operator': 'Operator console', 'index.operator.d': 'Call and serve visitors at your window.',
      'index.kiosk': 'Kiosk', 'index.kiosk.d': 'Touch-screen ticket dispenser for the branch hall.',
      'index.board': 'Queue board', 'index.board.d': 'Large screen showing which ticket goes to which window.',
      'index.note': 'Visitors open the ticket status page and the mobile registrar by QR code.',
      'login.heading': 'Sign in', 'login.login': 'Login', 'login.password': 'Password',
      'login.submit': 'Sign in', 'login.busy': 'Signing in…', 'login.already': 'You are signed in as {name}.',
      'login.continue': 'Continue',
      'ws.live': 'Live', 'ws.connecting': 'Connecting…', 'ws.reconnecting': 'Reconnecting…', 'ws.offline': 'Offline',
      'op.cTotal': 'Total', 'op.cForMe': 'For me', 'op.cServed': 'Served', 'op.cLeft': 'Left',
      'op.cTotalHint': 'Tickets the branch issued today', 'op.cForMeHint': 'Waiting now for the services you serve',
      'op.cServedHint': 'Served by you today', 'op.cLeftHint': 'Waiting now in the whole branch',
      'op.sinceCall': 'Since the call {t}', 'op.inService': 'In service {t}',
      'op.breakPick': 'Reason…', 'op.breakOtherOption': 'Other…', 'op.breakOther': 'Your reason',
      'op.leaveWindow': 'Leave the window', 'op.leftWindow': 'You have left the window. “Back to work” returns you to it.',
      'op.leaveFinishWindow': 'Finish it and leave', 'op.leaveReturnWindow': 'Return it to the front of the queue and leave',
      'op.heading': 'Operator console', 'op.signout': 'End shift', 'op.place': 'Workplace',
      'op.branch': 'Branch', 'op.window': 'Window', 'op.services': 'Services I serve',
      'op.start': 'Start work', 'op.choose': 'Choose…', 'op.noServices': 'This branch has no services.',
      'op.needWindow': 'Choose a window.', 'op.needService': 'Choose at least one service.',
      'op.placeSaved': 'Workplace saved: window {window}.', 'op.current': 'Ticket in hand',
      'op.noTicket': 'No ticket in hand', 'op.service': 'Service', 'op.recalls': 'Recalls: {n} of {max}',
      'op.callNext': 'Call next', 'op.recall': 'Recall', 'op.noShow': 'No-show', 'op.startService': 'Start service',
      'op.finish': 'Finish', 'op.finishComment': 'Comment (optional)', 'op.transfer': 'Transfer',
      'op.transferTo': 'To service', 'op.back': 'Back of the queue', 'op.front': 'Front of the queue',
      'op.transferComment': 'Comment for the next operator (optional)', 'op.presence': 'Presence',
      'op.breakReason': 'Break reason', 'op.takeBreak': 'Take a break', 'op.backToWork': 'Back to work',
      'op.leaveHeading': 'A ticket is in your hands', 'op.leaveText': 'Ticket {number} is “{status}”. What becomes of it when you leave?',
      'op.leaveFinish': 'Finish it and sign out', 'op.leaveReturn': 'Return it to the front of the queue and sign out', 'op.leaveCancel': 'Stay',
      'op.nobody': 'Nobody is waiting.', 'op.called': 'Called {number}.', 'op.finished': 'Ticket {number} finished.',
      'op.transferred': 'Ticket {number} transferred.', 'op.noShowDone': 'Ticket {number} marked as no-show.',
      'op.recalled': 'Ticket {number} recalled.', 'op.needReason': 'Enter a break reason.',
      'op.queues': 'Waiting now', 'op.waiting': 'Waiting', 'op.eta': 'Est. wait',
      'op.stats': 'Today', 'op.served': 'Served', 'op.noShows': 'No-shows', 'op.avgWait': 'Average wait',
      'op.avgService': 'Average service', 'op.notOperator': 'This account cannot use the operator console.',
      'pr.offline': 'Offline', 'pr.available': 'Available', 'pr.break': 'On break: {reason}',
      'st.waiting': 'Waiting', 'st.called': 'Called', 'st.serving': 'Serving', 'st.done': 'Done', 'st.no_show': 'No-show',
      'dev.pairHeading': 'Pair this screen', 'dev.pairHint': 'In the back office, open this device and type the code:',
      'dev.orSecret': 'Or sign in with the device’s login and secret',
      'dev.heading': 'Device sign-in', 'dev.login': 'Device login', 'dev.secret': 'Device secret',
      'dev.submit': 'Sign in', 'dev.wrongKind': 'This device is not registered as a {kind}.',
      'kiosk.choose': 'Choose a service', 'kiosk.closed': 'The branch is closed',
      'kiosk.closedHint': 'Please come back during working hours.', 'kiosk.vip': 'VIP',
      'kiosk.vipCode': 'VIP code', 'kiosk.yourTicket': 'Your ticket', 'kiosk.ahead': 'Ahead of you:',
      'kiosk.eta': 'Estimated wait:', 'kiosk.scan': 'Scan to follow your ticket on your phone',
      'kiosk.phone': 'No queue at the kiosk: take a ticket on your phone',
      'kiosk.empty': 'No services are available.', 'kiosk.issuing': 'Issuing your ticket…',
      'kiosk.vipTicket': 'VIP: you will be called first', 'kiosk.next': 'You are next', 'kiosk.printed': 'Take your printed ticket below.',
      'kiosk.scanShort': 'Follow your turn on your phone: scan the code',
      'kiosk.qrLocal': 'A phone cannot open this code: the hub is reachable only on this computer. Ask the administrator to set the hub’s public address.',
      'kiosk.aheadN': 'Ahead of you: {n}',
      'eta.unknown': 'unknown', 'eta.lt1': 'less than a minute', 'eta.min': '≈ {n} min',
      'board.ticket': 'Ticket', 'board.window': 'Window No.', 'board.empty': 'Waiting for the first call…',
      'board.goTo': 'please go to window', 'board.status': 'Status', 'board.sound': 'Tap to turn the sound on',
      'board.st.called': 'Please come', 'board.st.serving': 'Being served', 'board.st.done': 'Served',
      'kind.board': 'board', 'kind.kiosk': 'kiosk',
      'tk.service': 'Service', 'tk.branch': 'Branch', 'tk.ahead': 'Ahead of you:', 'tk.eta': 'Estimated wait:',
      'tk.goTo': 'Please go to window', 'tk.servedAt': 'You are being served at window',
      'tk.waiting': 'Waiting in the queue', 'tk.called': 'It is your turn!', 'tk.serving': 'Being served',
      'tk.done': 'Service completed. Thank you for your visit!',
      'tk.no_show': 'The ticket was closed: you did not come when called.',
      'tk.notFound': 'Ticket not found.', 'tk.keepOpen': 'Keep this page open: it updates by itself.',
      'reg.heading': 'Take a ticket', 'reg.notFound': 'Branch not found.',
      'err.generic': 'Something went wrong.', 'err.network': 'No connection to the server.',
      'why.too_few_recalls': 'No-show can be marked after recalls: {required} needed, {done} made.',
      'why.not_allowed': 'Not available: the ticket is “{status}”.',
      'why.ticket_in_hand': 'Finish or transfer the ticket in hand first.',
      'why.no_reason': 'Enter a break reason.', 'why.no_window': 'Choose a window and services first.',
      'why.on_break': 'You are on a break: press “Back to work” first.',
      'why.away': 'You are offline: press “Back to work” first.',
      'why.client_id': 'The message id is too long (at most {max} characters).', 'why.shortcut': 'A shortcut is at most {max} letters, digits, - or _.',
      'why.required': 'This field is required.', 'why.range': 'Must be from {min} to {max}.', 'why.too_long': 'At most {max} characters.',
      'why.colour': 'A colour as #rrggbb.', 'why.image': 'An image: {types}.', 'why.too_big': 'At most {max_kb} KB.',
      'why.control_chars': 'Must not contain control characters.', 'why.duplicate': '“{value}” is there twice.', 'why.too_many': 'At most {max}.', 'why.password_length': 'A password is {min} to {max} characters.', 'why.pairing_code': 'The code is not right or has expired: look at the screen again.',
      'why.prefix_form': 'One to three Latin capital letters.', 'why.prefix_taken': 'Prefix {prefix} is used by another service of this branch.',
      'why.no_parent': 'That group is not on this branch\'s menu.', 'why.parent_is_service': 'A service can only sit in a group (a service without a prefix).',
      'why.too_deep': 'Menus have two levels: a group cannot sit in a group.', 'why.label_taken': 'This branch has window {label} already.',
      'err.not_found': 'Not found', 'err.invalid': 'The data is not valid', 'err.conflict': 'It changed meanwhile: look again',
      'err.branch_closed': 'The branch is closed now', 'err.unauthenticated': 'Sign in first', 'err.forbidden': 'Your role does not allow this',
      'err.ticket_state': 'Not possible for the ticket in this state', 'err.presence': 'Your status cannot change so',
      'err.payload_too_large': 'The request is too large', 'err.bad_json': 'The request is malformed',
      'err.store_unavailable': 'The store is unavailable: try again', 'err.internal': 'Internal error; it has been logged',
      'err.too_many_requests': 'Too many requests from this address: try again later', 'err.storage_full': 'No room for more files not yet sent',
      'err.conversation_closed': 'This conversation is closed', 'err.unavailable': 'Temporarily unavailable: try again',
      'err.bus_unavailable': 'Temporarily unavailable: try again', 'err.speech_unavailable': 'Speech is not available on this server',
      'err.no_trunk': 'No telephone line for this number', 'err.phone_not_registered': 'Your desk phone is not connected',
      'err.too_many_messages': 'Too many messages at once: wait a few seconds',
      'why.window_taken': 'Another operator is at window {window}: choose another window.',
      'why.file_type': 'This kind of file is not accepted: send an image (PNG, JPEG, GIF, WebP), a PDF, plain text, a voice message or a video note.',
      'why.file_empty': 'The file is empty.', 'why.file_too_large': 'The file is larger than {mb} MB.',
      'why.message_empty': 'The message is empty.', 'why.message_too_long': 'A message holds at most {max} characters.',
      'why.too_many_attachments': 'At most {max} files per message.',
      'err.bad_credentials': 'Wrong login or password', 'err.too_many_attempts': 'Too many wrong attempts; try again later',
      'err.wrong_vip_code': 'This VIP code is not valid',
      'err.not_assigned': 'This name or number belongs to another organisation of the installation',
      'title.admin': 'Back office — Hub', 'index.admin': 'Back office', 'index.admin.d': 'Devices and pairing, boards\' templates, users, break reasons, the audit log.',
      'adm.branch': 'Services and windows', 'adm.services': 'Services (the kiosk\'s menu)', 'adm.addService': 'Add a service or a group',
      'adm.nameRu': 'Name in Russian', 'adm.nameEn': 'Name in English', 'adm.prefix': 'Ticket prefix (empty: a group)', 'adm.parent': 'In the group',
      'adm.topLevel': '— the top of the menu —', 'adm.group': 'a group', 'adm.add': 'Add', 'adm.windows': 'Windows', 'adm.windowLabel': 'Window number',
      'adm.windowN': 'Window {label}', 'adm.serviceAdded': '“{name}” is on the kiosk now.', 'adm.windowAdded': 'Window {label} added.',
      'adm.heading': 'Back office', 'adm.sections': 'Sections', 'adm.devices': 'Devices', 'adm.users': 'Users', 'adm.breaks': 'Break reasons',
      'adm.audit': 'Audit log', 'adm.filter': 'Filter the list', 'adm.name': 'Name', 'adm.login': 'Login', 'adm.kind': 'Kind', 'adm.role': 'Role',
      'adm.nothing': 'Nothing found.', 'adm.kind.board': 'Board', 'adm.kind.kiosk': 'Kiosk', 'adm.enabled': 'On', 'adm.disabled': 'Disabled',
      'adm.settings': 'Settings', 'adm.enable': 'Enable', 'adm.disable': 'Disable', 'adm.newSecret': 'New secret',
      'adm.newSecretAsk': 'Give {name} a new secret? The screen signed in with the old one is signed out at once.',
      'adm.newSecretShown': 'New secret of {name}: {secret} (shown this once).', 'adm.deviceEnabled': '{name} is enabled.',
      'adm.deviceDisabled': '{name} is disabled: its screens are signed out.', 'adm.pair': 'Pair a screen',
      'adm.pairHint': 'Open the board or kiosk page on the screen: it shows a code. Type it here.', 'adm.pairCode': 'Code on the screen',
      'adm.pairDo': 'Pair', 'adm.paired': 'The screen is now {name}.', 'adm.boardLook': 'Board template', 'adm.rows': 'Rows',
      'adm.statusColumn': 'Status column', 'adm.banner': 'Banner text', 'adm.cBackground': 'Background', 'adm.cRow': 'Rows', 'adm.cAccent': 'Highlight',
      'adm.kioskLook': 'Kiosk', 'adm.print': 'Printed tickets', 'adm.printOff': 'Paperless', 'adm.print58': '58 mm roll', 'adm.print80': '80 mm roll',
      'adm.logo': 'Logo (PNG, JPEG, SVG, WebP; at most 96 KB)', 'adm.save': 'Save', 'adm.close': 'Close', 'adm.saved': 'Saved.',
      'adm.resetPassword': 'New password', 'adm.newPassword': 'New password (12+ characters)', 'adm.passwordSet': '{name} has a new password; their sessions ended.',
      'adm.userEnabled': '{name} is enabled.', 'adm.userDisabled': '{name} is disabled and signed out.',
      'adm.breaksHint': 'Operators pick one of these when they take a break, in this order. One per line.',
      'adm.auditSearch': 'Search the log', 'adm.when': 'When', 'adm.who': 'Who', 'adm.what': 'What', 'adm.change': 'Before → after', 'adm.more': 'Older',
      'adm.notAdmin': 'The back office is for administrators.', 'adm.act.other': 'Change: {what}',
      'adm.act.branch.create': 'Branch added', 'adm.act.service.create': 'Service added', 'adm.act.window.create': 'Window added',
      'adm.act.device.create': 'Device added', 'adm.act.device.look': 'Device look changed', 'adm.act.device.pair': 'Screen paired',
      'adm.act.device.disable': 'Device disabled', 'adm.act.device.enable': 'Device enabled', 'adm.act.device.new_secret': 'Device secret renewed',
      'adm.act.user.create': 'User added', 'adm.act.user.disable': 'User disabled', 'adm.act.user.enable': 'User enabled', 'adm.act.user.edit': 'User changed',
      'adm.act.user.reset_password': 'Password set by an admin', 'adm.act.break_reasons.set': 'Break reasons changed',
      'adm.act.ticket.requeue': 'Ticket moved', 'adm.act.ticket.transfer': 'Ticket returned to the line', 'adm.act.ticket.finish': 'Ticket finished',
      'adm.act.operator.sign_off': 'Operator signed off',
      'adm.act.chat_queue.create': 'Chat queue added', 'adm.act.chat_queue.routing': 'Routing changed', 'adm.act.user.skills': 'Skills changed', 'adm.act.telegram_bot.create': 'Telegram bot connected', 'adm.act.telegram_bot.edit': 'Telegram bot paused or resumed', 'adm.act.mailbox.create': 'Mailbox added', 'adm.act.mailbox.edit': 'Mailbox changed', 'adm.act.mailbox.confirmation': 'Confirmation code sent', 'adm.act.phone_account.set': 'Desk phone given', 'adm.act.phone_account.remove': 'Desk phone taken away', 'adm.act.phone_number.create': 'Number added', 'adm.act.trunk.create': 'Trunk added', 'adm.act.trunk.remove': 'Trunk removed', 'adm.act.vip_caller.set': 'VIP caller set', 'adm.act.vip_caller.remove': 'VIP caller removed', 'adm.act.device.voice': 'Board voice changed', 'adm.act.speech_template.set': 'Announcement phrase changed',
      'adm.act.board_template.create': 'Board template made', 'adm.act.board_template.edit': 'Board template changed', 'adm.act.board_template.remove': 'Board template removed', 'adm.act.device.template': 'Board follows another template',
      'adm.acceptBulk': 'Mailing lists and bulk mail open tickets too', 'adm.accountRemoved': '{name} has no desk phone now.',
      'adm.accountSet': '{name} can sign a desk phone in now.', 'adm.autoReply': 'Acknowledge each new request by mail', 'adm.bot': 'Bot',
      'adm.botAdd': 'Connect a bot', 'adm.botAdded': 'The bot is connected: write to it in Telegram.',
      'adm.botHint': 'Create the bot with @BotFather in Telegram and paste its token here. It is kept encrypted and never shown again.',
      'adm.botLang': 'Language of its replies', 'adm.botToken': 'Token', 'adm.botUnknown': '(checking the token…)', 'adm.bots': 'Telegram bots',
      'adm.botsNone': 'No bots yet.', 'adm.canned': 'Canned replies', 'adm.cannedAdded': '/{shortcut} is ready for every operator.', 'adm.cannedBody': 'Text',
      'adm.cannedHint': 'Every operator of the organisation has these; typing /shortcut in a reply inserts one.', 'adm.cannedRemoved': '/{shortcut} removed.',
      'adm.cannedTitle': 'Title', 'adm.channels': 'Telegram and e-mail', 'adm.chatQueues': 'Chat queues',
      'adm.chatQueuesHint': 'Chats, calls, mail and Telegram wait in these queues; operators with the skill get them.', 'adm.chats': 'Chats',
      'adm.choiceAdd': 'Add a key', 'adm.connect': 'Connect', 'adm.defaultQueue': 'Queue without a key pressed', 'adm.domain': 'Domain',
      'adm.email': 'E-mail address', 'adm.greeting': 'Greeting (spoken first)', 'adm.imapUrl': 'IMAP server (mail in)', 'adm.key': 'Key',
      'adm.mailError': 'Error', 'adm.mailLang': 'Language of its letters', 'adm.mailboxAdd': 'Add a mailbox', 'adm.mailboxAdded': '{address} is connected.',
      'adm.mailboxName': 'Name in letters', 'adm.mailboxes': 'Mailboxes', 'adm.mailboxesNone': 'No mailboxes yet.', 'adm.menu': 'Menu',
      'adm.menuHint': 'A key the caller presses and the queue it leads to; 0 is kept for voicemail.', 'adm.missedLimit': 'Missed offers before a break',
      'adm.mode': 'How it gets messages', 'adm.mode.polling': 'Asks Telegram (works behind a firewall)',
      'adm.mode.webhook': 'Telegram calls the hub (needs a public address)', 'adm.noTrunk': 'Direct (no trunk)', 'adm.number': 'Number',
      'adm.numberAdd': 'Add a number', 'adm.numberAdded': '{number} answers calls now.', 'adm.numbers': 'Numbers callers dial',
      'adm.offerSecs': 'Seconds to accept', 'adm.operator': 'Operator', 'adm.otherwise': 'otherwise: {queue}', 'adm.password': 'Password', 'adm.pause': 'Pause',
      'adm.paused': 'Paused.', 'adm.pausedState': 'Paused', 'adm.phoneAccounts': 'Operators’ desk phones', 'adm.phoneOff': 'Not signed in',
      'adm.phoneOn': 'Signed in', 'adm.phonePassword': 'Phone password (10+ characters)', 'adm.phones': 'Telephony', 'adm.priority': 'Priority',
      'adm.prompt': 'Menu prompt (spoken after the greeting)', 'adm.proxies': 'Proxies (host:port, comma between)', 'adm.queue': 'Queue',
      'adm.queueAdd': 'Add a chat queue', 'adm.queueAdded': 'Queue “{name}” added: give operators the skill.', 'adm.queuesNone': 'No chat queues yet.',
      'adm.register': 'Register with the provider', 'adm.resume': 'Resume', 'adm.resumed': 'Working again.', 'adm.routing': 'Routing',
      'adm.routingOf': 'Routing of “{name}”', 'adm.shortcut': 'Shortcut', 'adm.skillLevel': 'level {n}', 'adm.skillNone': '—', 'adm.skills': 'Chat skills',
      'adm.steps': 'Widening by waiting time', 'adm.stepsHint': 'Who may take a conversation as it waits: at first only those with a high level, later anyone with at least the level of the step reached. No steps: anyone with the skill.',
      'adm.region': 'Region', 'adm.regions': 'Regions', 'adm.regionsHint': 'Regions file the branches in a tree (a region may sit in another): a network reads as its structure.', 'adm.regionsNone': 'No regions: the branches are one list.', 'adm.regionName': 'New region', 'adm.regionParent': 'Inside', 'adm.regionTop': '— at the top —', 'adm.regionNone': '— none —', 'adm.regionAdded': 'Region “{name}” added.', 'adm.regionRemoved': 'Region “{name}” taken away.',
      'why.region_cycle': 'A region cannot sit inside itself or its own sub-region.', 'why.region_depth': 'Regions go {max} levels deep at most.', 'why.region_not_empty': 'Branches ({branches}) or regions ({regions}) are filed in it: move them first.',
      'adm.act.region.create': 'Region added', 'adm.act.region.edit': 'Region changed', 'adm.act.region.remove': 'Region taken away',
      'adm.stepAdd': 'Add a step', 'adm.visitSteps': 'Who is called', 'adm.visitStepsHint': 'Who may call a waiting visitor of this service: at first only operators with a high level in it, later anyone with at least the level of the step reached. No steps: anyone who serves it.', 'adm.stepAfter': 'After, seconds', 'adm.stepLevel': 'Level at least', 'adm.phrases': 'What the boards say',
      'adm.phrasesHint': 'The phrase a board speaks for each call, in its language; {ticket} and {window} become the call’s.',
      'adm.phraseBuiltIn': 'Built-in phrase', 'adm.phraseSaved': 'The boards say it from the next call.',
      'why.phrase_placeholder': 'The board knows no {{name}}: a phrase uses {ticket} and {window}.',
      'why.phrase_form': 'Write the phrase with {ticket} and {window} in braces, e.g. “Ticket {ticket}, window {window}”.',
      'adm.templates': 'Board templates', 'adm.templatesHint': 'A template is a look kept under a name: every board that follows it shows it, and a change to it reaches them all. Make one from a board’s dialog.',
      'adm.templateBoards': 'Boards following it', 'adm.templatesNone': 'No templates yet.', 'adm.followTemplate': 'Follows',
      'adm.ownLook': 'Its own look', 'adm.templateNote': 'The look below is the template’s: saving changes it for every board following it ({n}).',
      'adm.ownLookNote': 'The look below is this board’s own.', 'adm.templateName': 'Keep this look as a template named',
      'adm.templateNew': 'Save as a new template', 'adm.templateMade': 'Template “{name}” made; this board follows it.',
      'adm.templateRemoved': 'Template “{name}” removed; its boards keep the look as their own.', 'adm.templateRemoveAsk': 'Remove template “{name}”? Its boards keep the look as their own.',
      'adm.bannerImage': 'Banner picture (PNG, JPEG, SVG, WebP; at most 160 KB)', 'adm.removePicture': 'Remove the current picture',
      'adm.places': 'Windows and services', 'adm.placesHint': 'Per branch: the windows this person may sit at and the services they serve there, and how well (5: the best). Nothing chosen at a branch: any window, any service.', 'adm.placesLoading': 'Loading the branches’ windows and services…',
      'adm.skillsHint': 'Queues this person takes chats, calls, mail and Telegram from, and how well (5: the best).', 'adm.smtpUrl': 'SMTP server (mail out)',
      'adm.strategy': 'Who gets a chat', 'adm.strategy.fewest_active': 'The least busy', 'adm.strategy.longest_idle': 'Free the longest',
      'adm.strategy.round_robin': 'In turn', 'adm.strategy.skills': 'The most skilled', 'adm.trunk': 'Trunk', 'adm.trunk.static': 'Without registration',
      'adm.trunk.registering': 'Registering…', 'adm.trunk.registered': 'Registered', 'adm.trunk.failed': 'Registration failed', 'adm.trunkAdd': 'Add a trunk',
      'adm.trunkAdded': 'Trunk “{name}” added.', 'adm.trunkRemoved': 'Trunk “{name}” removed.', 'adm.trunkUnknown': 'Unknown on this node',
      'adm.trunks': 'Trunks to a telephony provider', 'adm.trunksNone': 'No trunks: phones and providers reach the hub directly.',
      'adm.vipAdded': 'Their calls wait ahead now.', 'adm.vipCallers': 'VIP callers', 'adm.vipsNone': 'No VIP callers.',
      'adm.voiceLang': 'Language of the voice', 'adm.webhookSecret': 'Webhook secret', 'adm.widgetKey': 'Widget key',
      'adm.widgetKeyNew': 'Widget key (for a site’s chat; optional)', 'adm.working': 'Working', 'adm.accountSetH': 'Give an operator a phone account',
      'adm.lookAll': 'The same template for every board of this branch', 'adm.savedBoards': 'Saved for {n} boards.', 'adm.password12': 'Password (12+ characters)', 'adm.voice': 'Speak the calls', 'adm.chime': 'Chime before a call', 'adm.langRu': 'Russian', 'adm.langEn': 'English', 'adm.day': 'Day', 'adm.weekHint': 'Hours as 09:00–18:00; 00:00–24:00 is the whole day.',
      'adm.branches': 'Branches', 'adm.branchNew': 'New branch', 'adm.branchEdit': 'Branch “{name}”', 'adm.address': 'Address',
      'adm.timezone': 'Time zone', 'adm.lang': 'Language of its screens', 'adm.recalls': 'Recalls before “no-show”',
      'adm.boardSize': 'Board rows (when its template does not say)', 'adm.vipCode': 'VIP code (6–32 characters)', 'adm.vipClear': 'No VIP tickets',
      'adm.vipNew': 'Empty: no VIP tickets.', 'adm.vipSet': 'A code is set; type a new one to replace it.', 'adm.vipNone': 'No code: no VIP tickets.',
      'adm.week': 'Working week', 'adm.holidays': 'Holidays and special days', 'adm.holidaysHint': 'A day listed here replaces the week: closed, or open at other hours.',
      'adm.date': 'Date', 'adm.openThatDay': 'Open', 'adm.from': 'From', 'adm.to': 'To', 'adm.note': 'Note', 'adm.holidaysNone': 'No special days.',
      'adm.holidayAdd': 'Add a day', 'adm.remove': 'Remove', 'adm.branchAdded': 'Branch “{name}” added: now its services, windows and screens.',
      'wd.mon': 'Monday', 'wd.tue': 'Tuesday', 'wd.wed': 'Wednesday', 'wd.thu': 'Thursday', 'wd.fri': 'Friday', 'wd.sat': 'Saturday', 'wd.sun': 'Sunday',
      'adm.servicesNone': 'No services yet: the kiosk has nothing to offer.', 'adm.windowsNone': 'No windows yet.',
      'adm.deviceAdd': 'Add a kiosk or a board', 'adm.deviceAdded': '{name} added: open the board or kiosk page on its screen and type the code it shows.',
      'adm.userAdd': 'Add a user', 'adm.userEdit': 'User “{name}”', 'adm.userAdded': '{name} can sign in now.', 'adm.userBranches': 'Branches',
      'adm.userBranchesHint': 'None ticked: every branch.', 'adm.allBranches': 'All', 'adm.personName': 'Full name', 'adm.userLang': 'Language',
      'adm.gender': 'In Russian, spoken of as', 'adm.genderNone': 'not given', 'adm.genderF': 'she', 'adm.genderM': 'he', 'adm.capacity': 'Chats at once', 'adm.mailCapacity': 'Mail threads at once',
      'adm.edit': 'Edit', 'adm.cancel': 'Cancel', 'adm.rename': 'Rename', 'adm.moveUp': 'Move “{name}” up', 'adm.moveDown': 'Move “{name}” down',
      'adm.serviceRemoveAsk': 'Take “{name}” off the kiosk? Past tickets keep its name.', 'adm.serviceRemoved': '“{name}” is off the kiosk.',
      'adm.windowRemoveAsk': 'Take window {label} off the branch?', 'adm.windowRemoved': 'Window {label} is off the branch.',
      'adm.act.branch.edit': 'Branch changed', 'adm.act.branch.menu_order': 'Menu reordered', 'adm.act.service.edit': 'Service renamed',
      'adm.act.service.remove': 'Service taken off', 'adm.act.window.edit': 'Window renamed', 'adm.act.window.remove': 'Window taken off',
      'cv.noSpeech': 'no speech in this recording', 'cv.notTranscribed': 'could not be transcribed', 'why.no_service': 'Choose at least one service to serve.', 'why.menu_group': 'This is a menu group: choose a service inside it.', 'why.same_card': 'These are one card already.', 'why.attachment_gone': 'A file is gone or already sent: attach it again.', 'why.transfer_to_self': 'This conversation is yours already: choose another operator or a queue.', 'why.transfer_target': 'Choose one operator or one queue.', 'why.unsent_files': '{max} files wait to be sent already: send or remove them first.',
      'why.shortcut_taken': 'The shortcut /{shortcut} is taken.', 'why.one_of': 'One of: {values}.', 'why.bot_token': 'Not a bot token: copy it from @BotFather (123456789:AA…).',
      'why.webhook_secret_form': '1 to 256 of A–Z, a–z, 0–9, _ and -.', 'why.email_form': '{address} is not an e-mail address.',
      'why.imap_url_form': 'Like imaps://user:password@host:993 (or imap:// on a trusted network).',
      'why.smtp_url_form': 'Like smtp://host:port or smtps://user:password@host:465.',
      'why.internal_address': 'An internal address the hub may not reach (the installation’s egress_allow setting).',
      'why.nothing_to_change': 'Nothing to change.', 'why.sip_name_form': '1 to 32 Latin letters, digits or + - _ . (it goes into SIP addresses).',
      'why.voicemail_key': 'Key 0 is kept for voicemail.', 'why.choice_key': '“{key}”: one key, 1–9, * or #.',
      'why.host_form': 'A host name or IPv4 address, optionally with :port.', 'why.domain_port': 'A host name, without a port.',
      'why.count_range': 'From {min} to {max} of them.', 'why.phone_number': '“{number}” is not a phone number.',
      'why.name_prefix': 'Names of this organisation begin with {prefix}- (the installation’s owner set this prefix).',
      'why.others_prefix': 'Names beginning with {prefix}- belong to another organisation of this installation.',
      'why.number_not_assigned': 'This number is not assigned to your organisation; the installation’s owner assigns numbers.',
      'why.domain_not_assigned': 'This address’s domain is assigned to another organisation of this installation.',
      'why.address_to_confirm': 'This domain is not assigned to your organisation: give the mailbox’s IMAP address so the hub can confirm the address with a code, or ask the installation’s owner to assign the domain.',
      'why.prefix_name_form': '{min} to {max} lower-case Latin letters or digits.',
      'why.widget_key_form': '1 to 64 Latin letters, digits, - or _.',
      'why.steps_widening': 'Steps start at 0 s, grow in time (up to a day) and never ask for more proficiency later.',
      'why.hours_form': 'Hours look like 09:00–18:00, opening before closing ({hours}).', 'why.weekday': 'Not a weekday: {day}.',
      'why.date_form': 'Not a date: {date}.', 'why.date_twice': '{date} is listed twice.', 'why.timezone': 'Unknown time zone “{zone}”: pick one from the list.',
      'why.lang': 'Russian or English.', 'why.vip_code_length': 'From {min} to {max} characters.', 'why.login_taken': 'This login is taken.',
      'why.login_form': '{min} to {max} characters: Latin letters, digits, . _ - @', 'why.not_yourself': 'Not for your own account.',
      'why.not_found': 'Not found: reload the page.', 'why.group_not_empty': 'The group still holds services: take them off first.',
      'why.service_in_use': '{count} visitors wait for it or are being served: take it off when they are done.',
      'why.menu_order': 'The menu changed meanwhile: reload the page.', 'why.window_in_use': '{operator} works at this window now.',
      'why.not_your_branch': 'You do not work at “{branch}”: an administrator lists your branches.',
      'why.board_only': 'Only a board follows a board template.',
      'why.template_name_taken': 'There is a template named “{name}” already.',
      'why.not_your_window': 'Window {window} is not among yours at this branch: an administrator lists your windows.',
      'why.not_your_service': 'A service you chose is not among yours at this branch: an administrator lists your services.',
      'role.operator': 'Operator', 'role.supervisor': 'Supervisor', 'role.admin': 'Administrator',
      'title.chat': 'Chat', 'title.supervisor': 'Supervisor — Hub',
      'index.site': 'Demo website with the chat', 'index.site.d': 'A sample customer site with the web-chat widget: try a conversation.',
      'index.supervisor': 'Supervisor', 'index.supervisor.d': 'Chat queues, operators\' load, manual assignment.',
      'ch.webchat': 'Web chat', 'ch.telegram': 'Telegram', 'ch.email': 'E-mail', 'ch.phone': 'Phone',
      'cs.queued': 'In queue', 'cs.offered': 'Offered', 'cs.open': 'Open', 'cs.closed': 'Closed',
      'idk.web': 'Website visitor', 'idk.phone': 'Phone', 'idk.telegram': 'Telegram', 'idk.email': 'E-mail',
      'att.none': 'No file chosen.', 'att.type': '{name}: this type of file cannot be sent. Allowed: PNG, JPEG, GIF, WebP, PDF, TXT, recordings (WAV, Ogg, WebM, MP4).',
      'att.size': '{name} is too large: at most {max}.', 'att.empty': '{name} is empty.', 'att.uploading': 'Uploading {name}…',
      'chat.title': 'Chat with us', 'chat.telegram': 'Continue in Telegram', 'chat.close': 'Close the chat', 'chat.input': 'Message', 'chat.placeholder': 'Type a message…',
      'chat.send': 'Send', 'chat.attach': 'Attach a file', 'chat.record': 'Record a voice message', 'chat.recording': 'Recording {secs} s… press ■ to send', 'chat.micDenied': 'The microphone is not available: {reason}', 'chat.voiceName': 'voice message', 'chat.empty': 'Hello! Ask your question: an operator will answer here.',
      'chat.operator': 'Operator', 'chat.joined': '{name} joined the chat', 'chat.joinedF': '{name} joined the chat', 'chat.joinedM': '{name} joined the chat', 'chat.ended': 'The chat has ended',
      'chat.endedShort': 'Chat ended', 'chat.with': 'Operator: {name}', 'chat.waiting': 'Waiting for an operator…', 'chat.waitingEta': 'Waiting for an operator, about {min} min…',
      'chat.typing': 'The operator is typing…', 'chat.retry': 'Not sent — retry', 'chat.tooLong': 'The message is too long: at most {max} characters.',
      'chat.noKey': 'The chat is not set up on this page (no widget key).',
      'chat.closedNow': 'We are closed now', 'chat.busyNow': 'All operators are busy',
      'chat.leaveEmail': 'Leave your e-mail and we will answer you there. You can still write your question below.',
      'chat.leaveEmailBy': 'Leave your e-mail and we will answer by {time}. You can still write your question below.',
      'chat.email': 'E-mail', 'chat.name': 'Your name (optional)', 'chat.emailSubmit': 'Send',
      'chat.badEmail': 'Enter a valid e-mail address.', 'chat.answerBy': 'Thank you! We will answer by {time} to {email}.',
      'chat.answerSoon': 'Thank you! We will answer to {email} as soon as we can.',
      'chat.codeSent': 'We sent a code to {email}. Enter it here, and our answers will go there too.',
      'chat.code': 'Code from the e-mail', 'chat.codeSubmit': 'Confirm', 'chat.badCode': 'The code is six digits.',
      'err.wrong_code': 'The code is not right, or no longer valid: leave your address again for a new one.',
      'chat.rateTitle': 'How did we do?', 'chat.stars': '{n} of 5', 'chat.rateComment': 'Comment (optional)',
      'chat.rateSubmit': 'Send rating', 'chat.rated': 'Thank you for your rating!',
      'cv.heading': 'Conversations', 'cv.available': 'Take chats', 'cv.none': 'No conversations of yours.',
      'cv.queued': 'In the queue', 'cv.pick': 'Choose a conversation in the list.', 'cv.back': '← Back', 'cv.contact': 'Contact',
      'cv.typing': 'The visitor is typing…', 'cv.reply': 'Reply', 'cv.replyPh': 'Reply… ("/" for canned responses)',
      'cv.canned': 'Canned', 'cv.noCanned': 'No canned responses yet.', 'cv.attach': 'Attach', 'cv.send': 'Send',
      'cv.transfer': 'Transfer', 'cv.toOperator': 'To operator', 'cv.toQueue': 'Or to queue',
      'cv.transferNote': 'Note for the colleague (optional)', 'cv.close': 'Close the conversation',
      'cv.resolution': 'Resolution (optional)', 'cv.closeBtn': 'Close', 'cv.accept': 'Accept', 'cv.decline': 'Decline',
      'cv.expires': 'answer within {t}', 'cv.unread': 'Unread messages', 'cv.you': 'You',
      'cv.assignee': 'operator {name}', 'cv.resolved': 'resolution: {text}',
      'cv.acceptFirst': 'This conversation is offered to you: accept it in the list to reply.',
      'cv.inQueue': 'This conversation waits in the queue.', 'cv.closedNote': 'The conversation is closed.',
      'cv.notYours': 'Another operator handles this conversation.', 'cv.needTarget': 'Choose an operator or a queue.',
      'cv.transferred': 'The conversation with {name} was transferred.', 'cv.closed': 'The conversation with {name} was closed.',
      'cv.ewt': 'Estimated wait', 'cv.ewtShort': 'Est. wait', 'cv.longest': 'Longest wait',
      'cv.cName': 'Name', 'cv.cEmail': 'E-mail', 'cv.cPhone': 'Phone', 'cv.cNote': 'Note', 'cv.cSave': 'Save contact',
      'cv.history': 'History', 'cv.noHistory': 'No earlier conversations.', 'cv.mergeId': 'Merge in contact #',
      'cv.merge': 'Merge', 'cv.badMergeId': 'Enter the number of another contact.', 'cv.merged': 'Contacts merged.',
      'cv.saved': 'Contact saved.', 'cv.nothingChanged': 'Nothing changed.',
      'cv.ev.created': 'Created', 'cv.ev.queued': 'Queued', 'cv.ev.offered': 'Offered', 'cv.ev.offer_expired': 'Offer expired',
      'cv.ev.declined': 'Declined', 'cv.ev.accepted': 'Accepted', 'cv.ev.assigned': 'Assigned', 'cv.ev.transferred': 'Transferred',
      'cv.ev.closed': 'Closed', 'cv.ev.rated': 'Rated', 'cv.ev.reopened': 'Reopened',
      'cv.ev.undelivered': 'A reply was not delivered', 'cv.undelivered': 'Not delivered',
      'cv.file': 'File: {name}', 'cv.chatQueues': 'Chat queues', 'cv.cannedList': 'Canned responses', 'cv.rated': 'Rated {n} of 5', 'cv.location': 'Location: {place}',
      'cv.undeliveredCount': 'Replies not delivered: {n}',
      'cv.why.blocked': 'the customer blocked the bot', 'cv.why.gone': 'the chat or address no longer exists',
      'cv.why.bounced': 'the mail came back', 'cv.why.refused': 'the channel refused it',
      'cv.why.gave_up': 'the channel could not be reached for too long',
      'cv.ev.call_ringing': 'Ringing the phone', 'cv.ev.call_answered': 'Call answered', 'cv.ev.call_held': 'Call on hold',
      'cv.ev.call_resumed': 'Call resumed', 'cv.ev.call_ended': 'Call ended', 'cv.ev.abandoned': 'Caller left',
      'cv.ev.call_dialled': 'Call placed', 'cv.call': 'Call', 'cv.callTitle': 'Call {number}: your phone rings first',
      'cv.calling': 'Your phone is ringing: pick it up and the hub calls {number}.',
      'sup.heading': 'Supervisor', 'sup.link': 'Supervisor', 'sup.toOperator': 'Operator window',
      'sup.forbidden': 'This page is for supervisors and administrators.',
      'sup.queues': 'Chat queues', 'sup.queue': 'Queue', 'sup.longest': 'Longest wait', 'sup.ewt': 'Est. wait', 'sup.strategy': 'Routing',
      'sup.operators': 'Operators', 'sup.operator': 'Operator', 'sup.window': 'Window', 'sup.wrapUp': 'Wrap-up', 'sup.load': 'Chats', 'sup.missed': 'Missed offers',
      'sup.conversations': 'Waiting conversations', 'sup.contact': 'Contact', 'sup.status': 'Status', 'sup.waited': 'Waiting',
      'sup.assignee': 'Operator', 'sup.assignTo': 'Assign to', 'sup.assign': 'Assign', 'sup.takeOver': 'Take over',
      'sup.pickOperator': 'Choose an operator first.', 'sup.assigned': '{name} assigned to {op}.', 'sup.tookOver': 'You took over {name}.',
      'sup.noQueues': 'No chat queues.', 'sup.noOperators': 'No operators.', 'sup.noConvs': 'Nobody is waiting.',
      'sup.totWaiting': 'Waiting', 'sup.totAvailable': 'Operators available', 'sup.totLoad': 'Chats / capacity on line',
      'sup.strategy.longest_idle': 'longest idle', 'sup.strategy.round_robin': 'round robin',
      'sup.strategy.fewest_active': 'fewest active chats', 'sup.strategy.skills': 'best skill',
      'sup.cannedShortcutPh': '/promo', 'sup.csat': 'CSAT today', 'sup.csatRated': 'Ratings today', 'sup.toFront': 'To the front', 'sup.move': 'Move',
      'sup.returnTicket': 'Back to the line', 'sup.atWindow': 'Window {window} · {name}', 'sup.tickets': 'Tickets in play',
      'sup.for': 'For', 'sup.noTickets': 'No tickets in play.',
      'sup.ticketDone.requeue': 'Ticket {number} moved.', 'sup.ticketDone.return': 'Ticket {number} is back at the front of its line.',
      'sup.ticketDone.finish': 'Ticket {number} finished.', 'sup.signOff': 'Sign off',
      'sup.signOffAsk': 'Sign {name} off? A visitor they called goes back to the front of the line; their chats go back to their queues.',
      'sup.signedOff': '{name} is signed off.',
      'sup.visits': 'Visits: electronic queue', 'sup.serving': 'Operators serving', 'sup.noBranches': 'No branches.',
      'sup.noVisitServices': 'No services with tickets in this branch.', 'sup.branchOpen': 'open', 'sup.branchClosed': 'closed',
      'sup.canned': 'Canned responses', 'sup.cannedNote': 'Shared by every operator of the organisation: in the reply box, /shortcut inserts the text.',
      'sup.noCanned': 'No shared canned responses yet.',
      'canned.shortcut': 'Shortcut', 'canned.title': 'Title', 'canned.body': 'Text', 'canned.add': 'Add', 'canned.delete': 'Delete',
      'canned.added': 'Canned response /{shortcut} added.', 'canned.deleted': 'Canned response /{shortcut} deleted.',
      'canned.needShortcut': 'Enter a shortcut: letters, digits, - or _ (up to 32).', 'canned.needBody': 'Enter the text.',
      'canned.new': 'New personal canned response', 'canned.mine': 'mine', 'canned.deleteOne': 'Delete /{shortcut}',
      'canned.taken': 'The shortcut /{shortcut} is taken.',
    },
    ru: {
      'common.done': 'Готово', 'common.back': 'Назад', 'common.none': '—',
      'title.index': 'Hub — электронная очередь', 'title.login': 'Вход — Hub',
      'title.operator': 'Пульт оператора — Hub', 'title.kiosk': 'Киоск — Hub',
      'title.board': 'Табло очереди — Hub', 'title.ticket': 'Ваш талон — Hub',
      'title.registrar': 'Получить талон — Hub',
      'index.lead': 'Электронная очередь и контакт-центр на вашем сервере.',
      'index.operator': 'Пульт оператора', 'index.operator.d': 'Вызов и обслуживание посетителей у окна.',
      'index.kiosk': 'Киоск', 'index.kiosk.d': 'Сенсорный терминал выдачи талонов в зале.',
      'index.board': 'Табло', 'index.board.d': 'Большой экран: какой талон к какому окну.',
      'index.note': 'Статус талона и мобильная регистрация открываются по QR-коду.',
      'login.heading': 'Вход', 'login.login': 'Логин', 'login.password': 'Пароль',
      'login.submit': 'Войти', 'login.busy': 'Вход…', 'login.already': 'Вы вошли как {name}.',
      'login.continue': 'Продолжить',
      'ws.live': 'На связи', 'ws.connecting': 'Подключение…', 'ws.reconnecting': 'Переподключение…', 'ws.offline': 'Нет связи',
      'op.cTotal': 'Всего', 'op.cForMe': 'Ко мне', 'op.cServed': 'Обслужено', 'op.cLeft': 'Осталось',
      'op.cTotalHint': 'Талонов выдано в отделении сегодня', 'op.cForMeHint': 'Ждут сейчас по вашим услугам',
      'op.cServedHint': 'Обслужено вами сегодня', 'op.cLeftHint': 'Ждут сейчас во всём отделении',
      'op.sinceCall': 'С вызова {t}', 'op.inService': 'Обслуживание {t}',
      'op.breakPick': 'Причина…', 'op.breakOtherOption': 'Другое…', 'op.breakOther': 'Ваша причина',
      'op.leaveWindow': 'Уйти с окна', 'op.leftWindow': 'Вы ушли с окна. «Вернуться к работе» вернёт вас к нему.',
      'op.leaveFinishWindow': 'Завершить и уйти', 'op.leaveReturnWindow': 'Вернуть в начало очереди и уйти',
      'op.heading': 'Пульт оператора', 'op.signout': 'Завершить смену', 'op.place': 'Рабочее место',
      'op.branch': 'Отделение', 'op.window': 'Окно', 'op.services': 'Обслуживаемые услуги',
      'op.start': 'Начать работу', 'op.choose': 'Выберите…', 'op.noServices': 'В отделении нет услуг.',
      'op.needWindow': 'Выберите окно.', 'op.needService': 'Выберите хотя бы одну услугу.',
      'op.placeSaved': 'Рабочее место сохранено: окно {window}.', 'op.current': 'Талон в работе',
      'op.noTicket': 'Нет талона в работе', 'op.service': 'Услуга', 'op.recalls': 'Повторных вызовов: {n} из {max}',
      'op.callNext': 'Вызвать следующего', 'op.recall': 'Вызвать повторно', 'op.noShow': 'Не явился',
      'op.startService': 'Начать обслуживание', 'op.finish': 'Завершить', 'op.finishComment': 'Комментарий (необязательно)',
      'op.transfer': 'Перевести', 'op.transferTo': 'В услугу', 'op.back': 'В конец очереди', 'op.front': 'В начало очереди',
      'op.transferComment': 'Комментарий для следующего оператора (необязательно)', 'op.presence': 'Статус',
      'op.breakReason': 'Причина перерыва', 'op.takeBreak': 'Уйти на перерыв', 'op.backToWork': 'Вернуться к работе',
      'op.leaveHeading': 'У вас талон в работе', 'op.leaveText': 'Талон {number}: «{status}». Что с ним сделать, когда вы уйдёте?',
      'op.leaveFinish': 'Завершить и выйти', 'op.leaveReturn': 'Вернуть в начало очереди и выйти', 'op.leaveCancel': 'Остаться',
      'op.nobody': 'Никто не ждёт.', 'op.called': 'Вызван {number}.', 'op.finished': 'Талон {number} завершён.',
      'op.transferred': 'Талон {number} переведён.', 'op.noShowDone': 'Талон {number}: посетитель не явился.',
      'op.recalled': 'Талон {number} вызван повторно.', 'op.needReason': 'Укажите причину перерыва.',
      'op.queues': 'Сейчас ожидают', 'op.waiting': 'Ожидают', 'op.eta': 'Ожидание',
      'op.stats': 'Сегодня', 'op.served': 'Обслужено', 'op.noShows': 'Неявки', 'op.avgWait': 'Среднее ожидание',
      'op.avgService': 'Среднее обслуживание', 'op.notOperator': 'Эта учётная запись не может работать в пульте оператора.',
      'pr.offline': 'Не в сети', 'pr.available': 'Принимаю', 'pr.break': 'Перерыв: {reason}',
      'st.waiting': 'Ожидает', 'st.called': 'Вызван', 'st.serving': 'Обслуживается', 'st.done': 'Завершён', 'st.no_show': 'Не явился',
      'dev.pairHeading': 'Подключение экрана', 'dev.pairHint': 'В бэк-офисе откройте это устройство и введите код:',
      'dev.orSecret': 'Или войдите логином и секретом устройства',
      'dev.heading': 'Вход устройства', 'dev.login': 'Логин устройства', 'dev.secret': 'Секрет устройства',
      'dev.submit': 'Войти', 'dev.wrongKind': 'Это устройство не зарегистрировано как {kind}.',
      'kiosk.choose': 'Выберите услугу', 'kiosk.closed': 'Отделение закрыто',
      'kiosk.closedHint': 'Приходите, пожалуйста, в рабочее время.', 'kiosk.vip': 'VIP',
      'kiosk.vipCode': 'VIP-код', 'kiosk.yourTicket': 'Ваш талон', 'kiosk.ahead': 'Перед вами:',
      'kiosk.eta': 'Примерное ожидание:', 'kiosk.scan': 'Отсканируйте, чтобы следить за талоном на телефоне',
      'kiosk.phone': 'Без очереди к киоску: возьмите талон на телефоне',
      'kiosk.empty': 'Нет доступных услуг.', 'kiosk.issuing': 'Выдаём талон…',
      'kiosk.vipTicket': 'VIP: вас пригласят первым', 'kiosk.next': 'Вы следующий', 'kiosk.printed': 'Возьмите напечатанный талон внизу.',
      'kiosk.scanShort': 'Следите за очередью на телефоне: отсканируйте код',
      'kiosk.qrLocal': 'Телефон не откроет этот код: хаб доступен только на этом компьютере. Попросите администратора указать публичный адрес хаба.',
      'kiosk.aheadN': 'Перед вами: {n}',
      'eta.unknown': 'неизвестно', 'eta.lt1': 'меньше минуты', 'eta.min': '≈ {n} мин',
      'board.ticket': 'Талон', 'board.window': 'Окно №', 'board.empty': 'Ожидаем первого вызова…',
      'board.goTo': 'пройдите к окну', 'board.status': 'Статус', 'board.sound': 'Коснитесь, чтобы включить звук',
      'board.st.called': 'Приглашается', 'board.st.serving': 'Обслуживается', 'board.st.done': 'Обслужен',
      'kind.board': 'табло', 'kind.kiosk': 'киоск',
      'tk.service': 'Услуга', 'tk.branch': 'Отделение', 'tk.ahead': 'Перед вами:', 'tk.eta': 'Примерное ожидание:',
      'tk.goTo': 'Пройдите к окну', 'tk.servedAt': 'Вас обслуживают у окна',
      'tk.waiting': 'Ожидание в очереди', 'tk.called': 'Ваша очередь!', 'tk.serving': 'Идёт обслуживание',
      'tk.done': 'Обслуживание завершено. Спасибо за визит!',
      'tk.no_show': 'Талон закрыт: вы не подошли по вызову.',
      'tk.notFound': 'Талон не найден.', 'tk.keepOpen': 'Не закрывайте страницу: она обновляется сама.',
      'reg.heading': 'Получить талон', 'reg.notFound': 'Отделение не найдено.',
      'err.generic': 'Что-то пошло не так.', 'err.network': 'Нет связи с сервером.',
      'why.too_few_recalls': 'Неявку можно отметить после повторных вызовов: нужно {required}, сделано {done}.',
      'why.not_allowed': 'Недоступно: талон в состоянии «{status}».',
      'why.ticket_in_hand': 'Сначала завершите или переведите талон в работе.',
      'why.no_reason': 'Укажите причину перерыва.', 'why.no_window': 'Сначала выберите окно и услуги.',
      'why.on_break': 'Вы на перерыве: сначала нажмите «Вернуться к работе».',
      'why.away': 'Вы не в сети: сначала нажмите «Вернуться к работе».',
      'why.client_id': 'Слишком длинный идентификатор сообщения (не больше {max} символов).', 'why.shortcut': 'Сокращение — не больше {max} букв, цифр, - или _.',
      'why.required': 'Заполните это поле.', 'why.range': 'Должно быть от {min} до {max}.', 'why.too_long': 'Не больше {max} символов.',
      'why.colour': 'Цвет в виде #rrggbb.', 'why.image': 'Изображение: {types}.', 'why.too_big': 'Не больше {max_kb} КБ.',
      'why.control_chars': 'Без управляющих символов.', 'why.duplicate': '«{value}» указано дважды.', 'why.too_many': 'Не больше {max}.', 'why.password_length': 'Пароль — от {min} до {max} символов.', 'why.pairing_code': 'Код неверный или устарел: посмотрите на экран ещё раз.',
      'why.prefix_form': 'От одной до трёх заглавных латинских букв.', 'why.prefix_taken': 'Префикс {prefix} уже у другой услуги этого отделения.',
      'why.no_parent': 'Такой группы нет в меню этого отделения.', 'why.parent_is_service': 'Услуга может входить только в группу (услугу без префикса).',
      'why.too_deep': 'В меню два уровня: группа не может входить в группу.', 'why.label_taken': 'Окно {label} в этом отделении уже есть.',
      'err.too_many_requests': 'Слишком много запросов с этого адреса: попробуйте позже', 'err.storage_full': 'Нет места для новых неотправленных файлов',
      'err.conversation_closed': 'Обращение закрыто', 'err.unavailable': 'Временно недоступно: попробуйте ещё раз',
      'err.bus_unavailable': 'Временно недоступно: попробуйте ещё раз', 'err.speech_unavailable': 'Речь на этом сервере недоступна',
      'err.no_trunk': 'Нет телефонной линии для этого номера', 'err.phone_not_registered': 'Ваш телефон не подключён',
      'err.too_many_messages': 'Слишком много сообщений сразу: подождите несколько секунд',
      'why.window_taken': 'За окном {window} работает другой оператор: выберите другое окно.',
      'why.file_type': 'Такие файлы не принимаются: отправьте изображение (PNG, JPEG, GIF, WebP), PDF, текст, голосовое сообщение или видеокружок.',
      'why.file_empty': 'Файл пустой.', 'why.file_too_large': 'Файл больше {mb} МБ.',
      'why.message_empty': 'Сообщение пустое.', 'why.message_too_long': 'В сообщении не больше {max} символов.',
      'why.too_many_attachments': 'Не больше {max} файлов в сообщении.',
      'err.not_found': 'Не найдено', 'err.invalid': 'Неверные данные', 'err.conflict': 'Конфликт состояния',
      'err.branch_closed': 'Отделение закрыто', 'err.bad_credentials': 'Неверный логин или пароль',
      'err.too_many_attempts': 'Слишком много неверных попыток, попробуйте позже',
      'err.wrong_vip_code': 'Неверный VIP-код',
      'err.not_assigned': 'Это имя или номер принадлежит другой организации этой установки',
      'err.unauthenticated': 'Требуется вход', 'err.forbidden': 'Доступ запрещён',
      'err.ticket_state': 'Действие недоступно для талона в этом состоянии', 'err.presence': 'Нельзя сменить статус',
      'err.payload_too_large': 'Слишком большой запрос', 'err.bad_json': 'Некорректный запрос',
      'err.store_unavailable': 'Хранилище недоступно', 'err.internal': 'Внутренняя ошибка сервера',
      'title.admin': 'Бэк-офис — Hub', 'index.admin': 'Бэк-офис', 'index.admin.d': 'Устройства и их подключение, шаблоны табло, пользователи, причины перерыва, журнал.',
      'adm.branch': 'Услуги и окна', 'adm.services': 'Услуги (меню киоска)', 'adm.addService': 'Добавить услугу или группу',
      'adm.nameRu': 'Название по-русски', 'adm.nameEn': 'Название по-английски', 'adm.prefix': 'Префикс талона (пусто — группа)', 'adm.parent': 'В группе',
      'adm.topLevel': '— верхний уровень меню —', 'adm.group': 'группа', 'adm.add': 'Добавить', 'adm.windows': 'Окна', 'adm.windowLabel': 'Номер окна',
      'adm.windowN': 'Окно {label}', 'adm.serviceAdded': '«{name}» уже на киоске.', 'adm.windowAdded': 'Окно {label} добавлено.',
      'adm.heading': 'Бэк-офис', 'adm.sections': 'Разделы', 'adm.devices': 'Устройства', 'adm.users': 'Пользователи', 'adm.breaks': 'Причины перерыва',
      'adm.audit': 'Журнал изменений', 'adm.filter': 'Фильтр списка', 'adm.name': 'Название', 'adm.login': 'Логин', 'adm.kind': 'Тип', 'adm.role': 'Роль',
      'adm.nothing': 'Ничего не найдено.', 'adm.kind.board': 'Табло', 'adm.kind.kiosk': 'Киоск', 'adm.enabled': 'Включено', 'adm.disabled': 'Отключено',
      'adm.settings': 'Настройки', 'adm.enable': 'Включить', 'adm.disable': 'Отключить', 'adm.newSecret': 'Новый секрет',
      'adm.newSecretAsk': 'Выдать новый секрет: {name}? Экран, вошедший со старым, сразу выйдет.',
      'adm.newSecretShown': 'Новый секрет ({name}): {secret} — показан один раз.', 'adm.deviceEnabled': '{name}: включено.',
      'adm.deviceDisabled': '{name}: отключено, экраны вышли.', 'adm.pair': 'Подключить экран',
      'adm.pairHint': 'Откройте на экране страницу табло или киоска: на нём появится код. Введите его здесь.', 'adm.pairCode': 'Код с экрана',
      'adm.pairDo': 'Подключить', 'adm.paired': 'Экран подключён как «{name}».', 'adm.boardLook': 'Шаблон табло', 'adm.rows': 'Строк',
      'adm.statusColumn': 'Колонка «Статус»', 'adm.banner': 'Бегущая строка', 'adm.cBackground': 'Фон', 'adm.cRow': 'Строки', 'adm.cAccent': 'Выделение',
      'adm.kioskLook': 'Киоск', 'adm.print': 'Печать талонов', 'adm.printOff': 'Без бумаги', 'adm.print58': 'Лента 58 мм', 'adm.print80': 'Лента 80 мм',
      'adm.logo': 'Логотип (PNG, JPEG, SVG, WebP; не больше 96 КБ)', 'adm.save': 'Сохранить', 'adm.close': 'Закрыть', 'adm.saved': 'Сохранено.',
      'adm.resetPassword': 'Новый пароль', 'adm.newPassword': 'Новый пароль (от 12 символов)', 'adm.passwordSet': '{name}: пароль задан, все сеансы завершены.',
      'adm.userEnabled': '{name}: включено.', 'adm.userDisabled': '{name}: отключено, сеансы завершены.',
      'adm.breaksHint': 'Операторы выбирают одну из этих причин, уходя на перерыв, в этом порядке. По одной в строке.',
      'adm.auditSearch': 'Поиск по журналу', 'adm.when': 'Когда', 'adm.who': 'Кто', 'adm.what': 'Что', 'adm.change': 'Было → стало', 'adm.more': 'Раньше',
      'adm.notAdmin': 'Бэк-офис — для администраторов.', 'adm.act.other': 'Изменение: {what}',
      'adm.act.branch.create': 'Добавлено отделение', 'adm.act.service.create': 'Добавлена услуга', 'adm.act.window.create': 'Добавлено окно',
      'adm.act.device.create': 'Добавлено устройство', 'adm.act.device.look': 'Изменён вид устройства', 'adm.act.device.pair': 'Подключён экран',
      'adm.act.device.disable': 'Устройство отключено', 'adm.act.device.enable': 'Устройство включено', 'adm.act.device.new_secret': 'Новый секрет устройства',
      'adm.act.user.create': 'Добавлен пользователь', 'adm.act.user.disable': 'Пользователь отключён', 'adm.act.user.enable': 'Пользователь включён', 'adm.act.user.edit': 'Пользователь изменён',
      'adm.act.user.reset_password': 'Пароль задан администратором', 'adm.act.break_reasons.set': 'Изменены причины перерыва',
      'adm.act.ticket.requeue': 'Талон перемещён', 'adm.act.ticket.transfer': 'Талон возвращён в очередь', 'adm.act.ticket.finish': 'Талон завершён',
      'adm.act.operator.sign_off': 'Оператор отключён',
      'adm.act.chat_queue.create': 'Добавлена очередь чатов', 'adm.act.chat_queue.routing': 'Изменено распределение', 'adm.act.user.skills': 'Изменены навыки', 'adm.act.telegram_bot.create': 'Подключён бот Telegram', 'adm.act.telegram_bot.edit': 'Бот Telegram приостановлен или возобновлён', 'adm.act.mailbox.create': 'Добавлен почтовый ящик', 'adm.act.mailbox.edit': 'Изменён почтовый ящик', 'adm.act.mailbox.confirmation': 'Отправлен код подтверждения', 'adm.act.phone_account.set': 'Выдан настольный телефон', 'adm.act.phone_account.remove': 'Отключён настольный телефон', 'adm.act.phone_number.create': 'Добавлен номер', 'adm.act.trunk.create': 'Добавлен транк', 'adm.act.trunk.remove': 'Удалён транк', 'adm.act.vip_caller.set': 'Задан VIP-абонент', 'adm.act.vip_caller.remove': 'Удалён VIP-абонент', 'adm.act.device.voice': 'Изменён голос табло', 'adm.act.speech_template.set': 'Изменена фраза объявления',
      'adm.act.board_template.create': 'Создан шаблон табло', 'adm.act.board_template.edit': 'Изменён шаблон табло', 'adm.act.board_template.remove': 'Удалён шаблон табло', 'adm.act.device.template': 'Табло следует другому шаблону',
      'adm.acceptBulk': 'Рассылки и массовые письма тоже открывают обращения', 'adm.accountRemoved': '{name}: настольный телефон отключён.',
      'adm.accountSet': '{name}: настольный телефон можно подключать.', 'adm.autoReply': 'Подтверждать письмом каждое новое обращение', 'adm.bot': 'Бот',
      'adm.botAdd': 'Подключить бота', 'adm.botAdded': 'Бот подключён: напишите ему в Telegram.',
      'adm.botHint': 'Создайте бота у @BotFather в Telegram и вставьте сюда его токен. Он хранится зашифрованным и больше не показывается.',
      'adm.botLang': 'Язык его ответов', 'adm.botToken': 'Токен', 'adm.botUnknown': '(токен проверяется…)', 'adm.bots': 'Боты Telegram',
      'adm.botsNone': 'Ботов пока нет.', 'adm.canned': 'Шаблоны ответов', 'adm.cannedAdded': '/{shortcut} готов для всех операторов.', 'adm.cannedBody': 'Текст',
      'adm.cannedHint': 'Они есть у каждого оператора организации; /сокращение в ответе вставляет шаблон.', 'adm.cannedRemoved': '/{shortcut} удалён.',
      'adm.cannedTitle': 'Название', 'adm.channels': 'Telegram и почта', 'adm.chatQueues': 'Очереди чатов',
      'adm.chatQueuesHint': 'Чаты, звонки, письма и Telegram ждут в этих очередях; их получают операторы с навыком.', 'adm.chats': 'Чаты',
      'adm.choiceAdd': 'Добавить клавишу', 'adm.connect': 'Подключить', 'adm.defaultQueue': 'Очередь, если клавиша не нажата', 'adm.domain': 'Домен',
      'adm.email': 'Адрес почты', 'adm.greeting': 'Приветствие (звучит первым)', 'adm.imapUrl': 'Сервер IMAP (входящие)', 'adm.key': 'Клавиша',
      'adm.mailError': 'Ошибка', 'adm.mailLang': 'Язык писем', 'adm.mailboxAdd': 'Добавить почтовый ящик', 'adm.mailboxAdded': '{address} подключён.',
      'adm.mailboxName': 'Имя в письмах', 'adm.mailboxes': 'Почтовые ящики', 'adm.mailboxesNone': 'Почтовых ящиков пока нет.', 'adm.menu': 'Меню',
      'adm.menuHint': 'Клавиша, которую нажимает звонящий, и очередь, куда она ведёт; 0 занят голосовой почтой.',
      'adm.missedLimit': 'Пропущенных предложений до перерыва', 'adm.mode': 'Как получает сообщения',
      'adm.mode.polling': 'Сам спрашивает Telegram (работает за файрволом)', 'adm.mode.webhook': 'Telegram обращается к хабу (нужен публичный адрес)',
      'adm.noTrunk': 'Напрямую (без транка)', 'adm.number': 'Номер', 'adm.numberAdd': 'Добавить номер', 'adm.numberAdded': '{number} принимает звонки.',
      'adm.numbers': 'Номера для звонков', 'adm.offerSecs': 'Секунд на принятие', 'adm.operator': 'Оператор', 'adm.otherwise': 'иначе: {queue}',
      'adm.password': 'Пароль', 'adm.pause': 'Приостановить', 'adm.paused': 'Приостановлено.', 'adm.pausedState': 'Приостановлен',
      'adm.phoneAccounts': 'Настольные телефоны операторов', 'adm.phoneOff': 'Не подключён', 'adm.phoneOn': 'Подключён',
      'adm.phonePassword': 'Пароль телефона (от 10 символов)', 'adm.phones': 'Телефония', 'adm.priority': 'Приоритет',
      'adm.prompt': 'Подсказка меню (звучит после приветствия)', 'adm.proxies': 'Прокси (сервер:порт, через запятую)', 'adm.queue': 'Очередь',
      'adm.queueAdd': 'Добавить очередь чатов', 'adm.queueAdded': 'Очередь «{name}» добавлена: дайте операторам навык.',
      'adm.queuesNone': 'Очередей чатов пока нет.', 'adm.register': 'Регистрироваться у провайдера', 'adm.resume': 'Возобновить',
      'adm.resumed': 'Снова работает.', 'adm.routing': 'Распределение', 'adm.routingOf': 'Распределение «{name}»', 'adm.shortcut': 'Сокращение',
      'adm.skillLevel': 'уровень {n}', 'adm.skillNone': '—', 'adm.skills': 'Навыки для чатов',
      'adm.steps': 'Расширение по времени ожидания', 'adm.stepsHint': 'Кто может взять обращение, пока оно ждёт: сначала только с высоким уровнем, позже — любой не ниже уровня достигнутого шага. Без шагов — любой с навыком.',
      'adm.region': 'Регион', 'adm.regions': 'Регионы', 'adm.regionsHint': 'Регионы раскладывают отделения деревом (регион может входить в другой): сеть видна по своей структуре.', 'adm.regionsNone': 'Регионов нет: отделения — один список.', 'adm.regionName': 'Новый регион', 'adm.regionParent': 'Входит в', 'adm.regionTop': '— верхний уровень —', 'adm.regionNone': '— без региона —', 'adm.regionAdded': 'Регион «{name}» добавлен.', 'adm.regionRemoved': 'Регион «{name}» убран.',
      'why.region_cycle': 'Регион не может входить в себя или в свой подрегион.', 'why.region_depth': 'Регионы вкладываются не глубже {max} уровней.', 'why.region_not_empty': 'В нём отделения ({branches}) или регионы ({regions}): сначала перенесите их.',
      'adm.act.region.create': 'Добавлен регион', 'adm.act.region.edit': 'Изменён регион', 'adm.act.region.remove': 'Убран регион',
      'adm.stepAdd': 'Добавить шаг', 'adm.visitSteps': 'Кто вызывает', 'adm.visitStepsHint': 'Кто может вызвать ожидающего посетителя этой услуги: сначала только операторы с высоким уровнем в ней, позже — любой не ниже уровня достигнутого шага. Без шагов — любой, кто её обслуживает.', 'adm.stepAfter': 'Через, секунд', 'adm.stepLevel': 'Уровень не ниже', 'adm.phrases': 'Что говорят табло',
      'adm.phrasesHint': 'Фраза, которую табло произносит при вызове, на своём языке; {ticket} и {window} заменяются на талон и окно вызова.',
      'adm.phraseBuiltIn': 'Встроенная фраза', 'adm.phraseSaved': 'Табло скажут так со следующего вызова.',
      'why.phrase_placeholder': 'Табло не знает {{name}}: во фразе бывают {ticket} и {window}.',
      'why.phrase_form': 'Напишите фразу с {ticket} и {window} в фигурных скобках, например «Талон {ticket}, окно {window}».',
      'adm.templates': 'Шаблоны табло', 'adm.templatesHint': 'Шаблон — оформление под именем: его показывает каждое табло, которое ему следует, и изменение шаблона доходит до всех них. Создаётся из окна табло.',
      'adm.templateBoards': 'Табло по шаблону', 'adm.templatesNone': 'Шаблонов пока нет.', 'adm.followTemplate': 'Оформление',
      'adm.ownLook': 'Своё оформление', 'adm.templateNote': 'Ниже оформление шаблона: сохранение изменит его для всех табло по шаблону ({n}).',
      'adm.ownLookNote': 'Ниже собственное оформление этого табло.', 'adm.templateName': 'Сохранить это оформление как шаблон с именем',
      'adm.templateNew': 'Сохранить как новый шаблон', 'adm.templateMade': 'Шаблон «{name}» создан; это табло следует ему.',
      'adm.templateRemoved': 'Шаблон «{name}» удалён; его табло сохранили оформление как своё.', 'adm.templateRemoveAsk': 'Удалить шаблон «{name}»? Его табло сохранят оформление как своё.',
      'adm.bannerImage': 'Картинка баннера (PNG, JPEG, SVG, WebP; не больше 160 КБ)', 'adm.removePicture': 'Убрать текущую картинку',
      'adm.places': 'Окна и услуги', 'adm.placesHint': 'По отделениям: окна, за которые человек может садиться, и услуги, которые он там обслуживает, и насколько хорошо (5 — лучше всех). Ничего не выбрано в отделении — любое окно, любая услуга.', 'adm.placesLoading': 'Загружаем окна и услуги отделений…',
      'adm.skillsHint': 'Очереди, из которых человек принимает чаты, звонки, письма и Telegram, и насколько хорошо (5 — лучше всех).',
      'adm.smtpUrl': 'Сервер SMTP (исходящие)', 'adm.strategy': 'Кому достаётся чат', 'adm.strategy.fewest_active': 'Наименее занятому',
      'adm.strategy.longest_idle': 'Дольше всех свободному', 'adm.strategy.round_robin': 'По очереди', 'adm.strategy.skills': 'Самому опытному',
      'adm.trunk': 'Транк', 'adm.trunk.static': 'Без регистрации', 'adm.trunk.registering': 'Регистрируется…', 'adm.trunk.registered': 'Зарегистрирован',
      'adm.trunk.failed': 'Регистрация не удалась', 'adm.trunkAdd': 'Добавить транк', 'adm.trunkAdded': 'Транк «{name}» добавлен.',
      'adm.trunkRemoved': 'Транк «{name}» удалён.', 'adm.trunkUnknown': 'Неизвестно на этом узле', 'adm.trunks': 'Транки к провайдеру телефонии',
      'adm.trunksNone': 'Транков нет: телефоны и провайдеры обращаются к хабу напрямую.', 'adm.vipAdded': 'Их звонки теперь ждут первыми.',
      'adm.vipCallers': 'VIP-абоненты', 'adm.vipsNone': 'VIP-абонентов нет.', 'adm.voiceLang': 'Язык голоса', 'adm.webhookSecret': 'Секрет вебхука',
      'adm.widgetKey': 'Ключ виджета', 'adm.widgetKeyNew': 'Ключ виджета (для чата на сайте; необязательно)', 'adm.working': 'Работает',
      'adm.accountSetH': 'Дать оператору телефонную учётную запись',
      'adm.lookAll': 'Этот шаблон — для всех табло отделения', 'adm.savedBoards': 'Сохранено для табло: {n}.', 'adm.password12': 'Пароль (от 12 символов)', 'adm.voice': 'Озвучивать вызовы', 'adm.chime': 'Сигнал перед вызовом', 'adm.langRu': 'Русский', 'adm.langEn': 'Английский', 'adm.day': 'День', 'adm.weekHint': 'Часы — как 09:00–18:00; 00:00–24:00 — весь день.',
      'adm.branches': 'Отделения', 'adm.branchNew': 'Новое отделение', 'adm.branchEdit': 'Отделение «{name}»', 'adm.address': 'Адрес',
      'adm.timezone': 'Часовой пояс', 'adm.lang': 'Язык экранов', 'adm.recalls': 'Повторных вызовов до «не явился»',
      'adm.boardSize': 'Строк на табло (если шаблон не задаёт)', 'adm.vipCode': 'VIP-код (6–32 символа)', 'adm.vipClear': 'Без VIP-талонов',
      'adm.vipNew': 'Пусто — без VIP-талонов.', 'adm.vipSet': 'Код задан; введите новый, чтобы заменить.', 'adm.vipNone': 'Кода нет — без VIP-талонов.',
      'adm.week': 'Рабочая неделя', 'adm.holidays': 'Праздники и особые дни', 'adm.holidaysHint': 'День из этого списка заменяет неделю: выходной или другие часы.',
      'adm.date': 'Дата', 'adm.openThatDay': 'Работает', 'adm.from': 'С', 'adm.to': 'До', 'adm.note': 'Примечание', 'adm.holidaysNone': 'Особых дней нет.',
      'adm.holidayAdd': 'Добавить день', 'adm.remove': 'Убрать', 'adm.branchAdded': 'Отделение «{name}» добавлено: теперь его услуги, окна и экраны.',
      'wd.mon': 'Понедельник', 'wd.tue': 'Вторник', 'wd.wed': 'Среда', 'wd.thu': 'Четверг', 'wd.fri': 'Пятница', 'wd.sat': 'Суббота', 'wd.sun': 'Воскресенье',
      'adm.servicesNone': 'Услуг пока нет: киоску нечего предложить.', 'adm.windowsNone': 'Окон пока нет.',
      'adm.deviceAdd': 'Добавить киоск или табло', 'adm.deviceAdded': '{name} добавлено: откройте страницу табло или киоска на экране и введите код с него.',
      'adm.userAdd': 'Добавить пользователя', 'adm.userEdit': 'Пользователь «{name}»', 'adm.userAdded': '{name} может войти.', 'adm.userBranches': 'Отделения',
      'adm.userBranchesHint': 'Ничего не отмечено — все отделения.', 'adm.allBranches': 'Все', 'adm.personName': 'Имя и фамилия', 'adm.userLang': 'Язык',
      'adm.gender': 'Род в русских фразах', 'adm.genderNone': 'не указан', 'adm.genderF': 'женский', 'adm.genderM': 'мужской', 'adm.capacity': 'Чатов одновременно', 'adm.mailCapacity': 'Писем в работе одновременно',
      'adm.edit': 'Изменить', 'adm.cancel': 'Отмена', 'adm.rename': 'Переименовать', 'adm.moveUp': 'Поднять «{name}»', 'adm.moveDown': 'Опустить «{name}»',
      'adm.serviceRemoveAsk': 'Убрать «{name}» с киоска? Прошлые талоны сохранят название.', 'adm.serviceRemoved': '«{name}» убрана с киоска.',
      'adm.windowRemoveAsk': 'Убрать окно {label} из отделения?', 'adm.windowRemoved': 'Окно {label} убрано.',
      'adm.act.branch.edit': 'Изменено отделение', 'adm.act.branch.menu_order': 'Изменён порядок меню', 'adm.act.service.edit': 'Услуга переименована',
      'adm.act.service.remove': 'Услуга убрана', 'adm.act.window.edit': 'Окно переименовано', 'adm.act.window.remove': 'Окно убрано',
      'cv.noSpeech': 'в записи нет речи', 'cv.notTranscribed': 'не удалось распознать', 'why.no_service': 'Выберите хотя бы одну услугу.', 'why.menu_group': 'Это группа меню: выберите услугу внутри неё.', 'why.same_card': 'Это уже одна карточка.', 'why.attachment_gone': 'Файл пропал или уже отправлен: прикрепите его снова.', 'why.transfer_to_self': 'Этот диалог уже ваш: выберите другого оператора или очередь.', 'why.transfer_target': 'Выберите одного оператора или одну очередь.', 'why.unsent_files': 'Уже ждут отправки {max} файлов: отправьте или уберите их.',
      'why.shortcut_taken': 'Сокращение /{shortcut} уже занято.', 'why.one_of': 'Одно из: {values}.', 'why.bot_token': 'Это не токен бота: скопируйте его у @BotFather (123456789:AA…).',
      'why.webhook_secret_form': 'От 1 до 256 символов A–Z, a–z, 0–9, _ и -.', 'why.email_form': '{address} — не адрес электронной почты.',
      'why.imap_url_form': 'Вида imaps://логин:пароль@сервер:993 (или imap:// в доверенной сети).',
      'why.smtp_url_form': 'Вида smtp://сервер:порт или smtps://логин:пароль@сервер:465.',
      'why.internal_address': 'Внутренний адрес, к которому хабу нельзя подключаться (настройка egress_allow).',
      'why.nothing_to_change': 'Нечего менять.', 'why.sip_name_form': 'От 1 до 32 латинских букв, цифр или + - _ . (входит в SIP-адреса).',
      'why.voicemail_key': 'Клавиша 0 занята голосовой почтой.', 'why.choice_key': '«{key}»: одна клавиша, 1–9, * или #.',
      'why.host_form': 'Имя сервера или IPv4-адрес, можно с :портом.', 'why.domain_port': 'Имя сервера без порта.',
      'why.count_range': 'От {min} до {max} штук.', 'why.phone_number': '«{number}» — не номер телефона.',
      'why.name_prefix': 'Имена этой организации начинаются с {prefix}- (так задал владелец установки).',
      'why.others_prefix': 'Имена, начинающиеся с {prefix}-, принадлежат другой организации этой установки.',
      'why.number_not_assigned': 'Этот номер не закреплён за вашей организацией; номера закрепляет владелец установки.',
      'why.domain_not_assigned': 'Домен этого адреса закреплён за другой организацией этой установки.',
      'why.address_to_confirm': 'Домен не закреплён за вашей организацией: укажите IMAP-адрес ящика, чтобы хаб подтвердил адрес кодом, или попросите владельца установки закрепить домен.',
      'why.prefix_name_form': 'От {min} до {max} строчных латинских букв или цифр.',
      'why.widget_key_form': 'От 1 до 64 латинских букв, цифр, - или _.',
      'why.steps_widening': 'Шаги начинаются с 0 с, растут во времени (до суток) и не требуют позже большего уровня навыка.',
      'why.hours_form': 'Часы пишутся как 09:00–18:00, открытие раньше закрытия ({hours}).', 'why.weekday': 'Нет такого дня недели: {day}.',
      'why.date_form': 'Это не дата: {date}.', 'why.date_twice': 'Дата {date} указана дважды.', 'why.timezone': 'Неизвестный часовой пояс «{zone}»: выберите из списка.',
      'why.lang': 'Русский или английский.', 'why.vip_code_length': 'От {min} до {max} символов.', 'why.login_taken': 'Этот логин занят.',
      'why.login_form': 'От {min} до {max} символов: латинские буквы, цифры, . _ - @', 'why.not_yourself': 'Не для своей учётной записи.',
      'why.not_found': 'Не найдено: обновите страницу.', 'why.group_not_empty': 'В группе ещё есть услуги: сначала уберите их.',
      'why.service_in_use': 'Её ждут или обслуживаются посетители ({count}): уберите, когда они закончат.',
      'why.menu_order': 'Меню тем временем изменилось: обновите страницу.', 'why.window_in_use': 'За этим окном сейчас работает {operator}.',
      'why.not_your_branch': 'Вы не работаете в отделении «{branch}»: список ваших отделений задаёт администратор.',
      'why.board_only': 'Шаблону табло может следовать только табло.',
      'why.template_name_taken': 'Шаблон «{name}» уже есть.',
      'why.not_your_window': 'Окно {window} не входит в ваши окна в этом отделении: их список задаёт администратор.',
      'why.not_your_service': 'Выбранная услуга не входит в ваши услуги в этом отделении: их список задаёт администратор.',
      'role.operator': 'Оператор', 'role.supervisor': 'Супервизор', 'role.admin': 'Администратор',
      'title.chat': 'Чат', 'title.supervisor': 'Супервизор — Hub',
      'index.site': 'Демо-сайт с чатом', 'index.site.d': 'Пример сайта клиента с виджетом чата: попробуйте переписку.',
      'index.supervisor': 'Супервизор', 'index.supervisor.d': 'Очереди чатов, загрузка операторов, ручное назначение.',
      'ch.webchat': 'Чат на сайте', 'ch.telegram': 'Telegram', 'ch.email': 'Почта', 'ch.phone': 'Телефон',
      'cs.queued': 'В очереди', 'cs.offered': 'Предложен', 'cs.open': 'Открыт', 'cs.closed': 'Закрыт',
      'idk.web': 'Посетитель сайта', 'idk.phone': 'Телефон', 'idk.telegram': 'Telegram', 'idk.email': 'Почта',
      'att.none': 'Файл не выбран.', 'att.type': '{name}: такой файл отправить нельзя. Можно: PNG, JPEG, GIF, WebP, PDF, TXT, записи (WAV, Ogg, WebM, MP4).',
      'att.size': '{name} слишком большой: не больше {max}.', 'att.empty': '{name} — пустой файл.', 'att.uploading': 'Загружаем {name}…',
      'chat.title': 'Напишите нам', 'chat.telegram': 'Продолжить в Telegram', 'chat.close': 'Закрыть чат', 'chat.input': 'Сообщение', 'chat.placeholder': 'Введите сообщение…',
      'chat.send': 'Отправить', 'chat.attach': 'Прикрепить файл', 'chat.record': 'Записать голосовое сообщение', 'chat.recording': 'Запись {secs} с… нажмите ■, чтобы отправить', 'chat.micDenied': 'Микрофон недоступен: {reason}', 'chat.voiceName': 'голосовое сообщение', 'chat.empty': 'Здравствуйте! Задайте вопрос — оператор ответит здесь.',
      'chat.operator': 'Оператор', 'chat.joined': 'Вам отвечает {name}', 'chat.joinedF': '{name} подключилась к чату', 'chat.joinedM': '{name} подключился к чату', 'chat.ended': 'Чат завершён',
      'chat.endedShort': 'Чат завершён', 'chat.with': 'Оператор: {name}', 'chat.waiting': 'Ожидаем оператора…', 'chat.waitingEta': 'Ожидаем оператора, около {min} мин…',
      'chat.typing': 'Оператор печатает…', 'chat.retry': 'Не отправлено — повторить', 'chat.tooLong': 'Слишком длинное сообщение: не больше {max} символов.',
      'chat.noKey': 'Чат на этой странице не настроен (нет ключа виджета).',
      'chat.closedNow': 'Сейчас мы не работаем', 'chat.busyNow': 'Все операторы заняты',
      'chat.leaveEmail': 'Оставьте e-mail — мы ответим на него. Вопрос можно написать ниже.',
      'chat.leaveEmailBy': 'Оставьте e-mail — мы ответим до {time}. Вопрос можно написать ниже.',
      'chat.email': 'E-mail', 'chat.name': 'Ваше имя (необязательно)', 'chat.emailSubmit': 'Отправить',
      'chat.badEmail': 'Введите правильный адрес e-mail.', 'chat.answerBy': 'Спасибо! Мы ответим до {time} на {email}.',
      'chat.answerSoon': 'Спасибо! Мы ответим на {email} как можно скорее.',
      'chat.codeSent': 'Мы отправили код на {email}. Введите его здесь — и ответы придут и туда.',
      'chat.code': 'Код из письма', 'chat.codeSubmit': 'Подтвердить', 'chat.badCode': 'Код — шесть цифр.',
      'err.wrong_code': 'Код неверный или устарел: оставьте адрес ещё раз, чтобы получить новый.',
      'chat.rateTitle': 'Оцените, как мы помогли', 'chat.stars': '{n} из 5', 'chat.rateComment': 'Комментарий (необязательно)',
      'chat.rateSubmit': 'Отправить оценку', 'chat.rated': 'Спасибо за оценку!',
      'cv.heading': 'Обращения', 'cv.available': 'Принимать чаты', 'cv.none': 'У вас нет обращений.',
      'cv.queued': 'В очереди', 'cv.pick': 'Выберите обращение в списке.', 'cv.back': '← Назад', 'cv.contact': 'Контакт',
      'cv.typing': 'Посетитель печатает…', 'cv.reply': 'Ответ', 'cv.replyPh': 'Ответ… («/» — шаблоны)',
      'cv.canned': 'Шаблоны', 'cv.noCanned': 'Шаблонов пока нет.', 'cv.attach': 'Файл', 'cv.send': 'Отправить',
      'cv.transfer': 'Перевести', 'cv.toOperator': 'Оператору', 'cv.toQueue': 'Или в очередь',
      'cv.transferNote': 'Заметка для коллеги (необязательно)', 'cv.close': 'Закрыть обращение',
      'cv.resolution': 'Итог (необязательно)', 'cv.closeBtn': 'Закрыть', 'cv.accept': 'Принять', 'cv.decline': 'Отклонить',
      'cv.expires': 'ответьте за {t}', 'cv.unread': 'Непрочитанные сообщения', 'cv.you': 'Вы',
      'cv.assignee': 'оператор {name}', 'cv.resolved': 'итог: {text}',
      'cv.acceptFirst': 'Обращение предложено вам: примите его в списке, чтобы ответить.',
      'cv.inQueue': 'Обращение ждёт в очереди.', 'cv.closedNote': 'Обращение закрыто.',
      'cv.notYours': 'Обращение ведёт другой оператор.', 'cv.needTarget': 'Выберите оператора или очередь.',
      'cv.transferred': 'Обращение ({name}) переведено.', 'cv.closed': 'Обращение ({name}) закрыто.',
      'cv.ewt': 'Ожидаемое время ожидания', 'cv.ewtShort': 'Ожидание', 'cv.longest': 'Дольше всех ждёт',
      'cv.cName': 'Имя', 'cv.cEmail': 'E-mail', 'cv.cPhone': 'Телефон', 'cv.cNote': 'Заметка', 'cv.cSave': 'Сохранить контакт',
      'cv.history': 'История', 'cv.noHistory': 'Других обращений нет.', 'cv.mergeId': 'Объединить с контактом №',
      'cv.merge': 'Объединить', 'cv.badMergeId': 'Введите номер другого контакта.', 'cv.merged': 'Контакты объединены.',
      'cv.saved': 'Контакт сохранён.', 'cv.nothingChanged': 'Ничего не изменилось.',
      'cv.ev.created': 'Создано', 'cv.ev.queued': 'В очереди', 'cv.ev.offered': 'Предложено', 'cv.ev.offer_expired': 'Предложение истекло',
      'cv.ev.declined': 'Отклонено', 'cv.ev.accepted': 'Принято', 'cv.ev.assigned': 'Назначено', 'cv.ev.transferred': 'Переведено',
      'cv.ev.closed': 'Закрыто', 'cv.ev.rated': 'Оценено', 'cv.ev.reopened': 'Открыто снова',
      'cv.ev.undelivered': 'Ответ не доставлен', 'cv.undelivered': 'Не доставлено',
      'cv.file': 'Файл: {name}', 'cv.chatQueues': 'Очереди чатов', 'cv.cannedList': 'Шаблоны ответов', 'cv.rated': 'Оценка {n} из 5', 'cv.location': 'Место: {place}',
      'cv.undeliveredCount': 'Не доставлено ответов: {n}',
      'cv.why.blocked': 'клиент заблокировал бота', 'cv.why.gone': 'чата или адреса больше нет',
      'cv.why.bounced': 'письмо вернулось', 'cv.why.refused': 'канал не принял сообщение',
      'cv.why.gave_up': 'канал слишком долго недоступен',
      'cv.ev.call_ringing': 'Звонок на телефон', 'cv.ev.call_answered': 'Звонок принят', 'cv.ev.call_held': 'Звонок на удержании',
      'cv.ev.call_resumed': 'Звонок продолжен', 'cv.ev.call_ended': 'Звонок завершён', 'cv.ev.abandoned': 'Клиент не дождался',
      'cv.ev.call_dialled': 'Исходящий звонок', 'cv.call': 'Позвонить', 'cv.callTitle': 'Позвонить на {number}: сначала зазвонит ваш телефон',
      'cv.calling': 'Звонит ваш телефон: снимите трубку, и хаб наберёт {number}.',
      'sup.heading': 'Супервизор', 'sup.link': 'Супервизор', 'sup.toOperator': 'Окно оператора',
      'sup.forbidden': 'Эта страница — для супервизоров и администраторов.',
      'sup.queues': 'Очереди чатов', 'sup.queue': 'Очередь', 'sup.longest': 'Дольше всех ждёт', 'sup.ewt': 'Ожидание', 'sup.strategy': 'Распределение',
      'sup.operators': 'Операторы', 'sup.operator': 'Оператор', 'sup.window': 'Окно', 'sup.wrapUp': 'Пост-обработка', 'sup.load': 'Чаты', 'sup.missed': 'Пропущено предложений',
      'sup.conversations': 'Ожидающие обращения', 'sup.contact': 'Контакт', 'sup.status': 'Статус', 'sup.waited': 'Ждёт',
      'sup.assignee': 'Оператор', 'sup.assignTo': 'Назначить', 'sup.assign': 'Назначить', 'sup.takeOver': 'Забрать себе',
      'sup.pickOperator': 'Сначала выберите оператора.', 'sup.assigned': '{name}: назначено оператору {op}.', 'sup.tookOver': 'Вы забрали обращение ({name}).',
      'sup.noQueues': 'Очередей чатов нет.', 'sup.noOperators': 'Операторов нет.', 'sup.noConvs': 'Никто не ждёт.',
      'sup.totWaiting': 'Ожидают', 'sup.totAvailable': 'Операторов на линии', 'sup.totLoad': 'Чаты / ёмкость на линии',
      'sup.strategy.longest_idle': 'дольше всех свободен', 'sup.strategy.round_robin': 'по кругу',
      'sup.strategy.fewest_active': 'меньше всего чатов', 'sup.strategy.skills': 'по навыку',
      'sup.cannedShortcutPh': '/акция', 'sup.csat': 'CSAT сегодня', 'sup.csatRated': 'Оценок сегодня', 'sup.toFront': 'В начало', 'sup.move': 'Перевести',
      'sup.returnTicket': 'Вернуть в очередь', 'sup.atWindow': 'Окно {window} · {name}', 'sup.tickets': 'Талоны в работе',
      'sup.for': 'Сколько', 'sup.noTickets': 'Талонов в работе нет.',
      'sup.ticketDone.requeue': 'Талон {number} перемещён.', 'sup.ticketDone.return': 'Талон {number} снова в начале очереди.',
      'sup.ticketDone.finish': 'Талон {number} завершён.', 'sup.signOff': 'Отключить',
      'sup.signOffAsk': 'Отключить: {name}? Вызванный посетитель вернётся в начало очереди, чаты — в свои очереди.',
      'sup.signedOff': 'Отключено: {name}.',
      'sup.visits': 'Визиты: электронная очередь', 'sup.serving': 'Обслуживают', 'sup.noBranches': 'Отделений нет.',
      'sup.noVisitServices': 'В этом отделении нет услуг с талонами.', 'sup.branchOpen': 'открыто', 'sup.branchClosed': 'закрыто',
      'sup.canned': 'Шаблоны ответов', 'sup.cannedNote': 'Общие для всех операторов организации: в поле ответа /сокращение вставляет текст.',
      'sup.noCanned': 'Общих шаблонов пока нет.',
      'canned.shortcut': 'Сокращение', 'canned.title': 'Название', 'canned.body': 'Текст', 'canned.add': 'Добавить', 'canned.delete': 'Удалить',
      'canned.added': 'Шаблон /{shortcut} добавлен.', 'canned.deleted': 'Шаблон /{shortcut} удалён.',
      'canned.needShortcut': 'Введите сокращение: буквы, цифры, - или _ (до 32).', 'canned.needBody': 'Введите текст шаблона.',
      'canned.new': 'Новый личный шаблон', 'canned.mine': 'мой', 'canned.deleteOne': 'Удалить /{shortcut}',
      'canned.taken': 'Сокращение /{shortcut} уже занято.',
    },
  };
  const LANG_KEY = 'hub.lang';
  const listeners = [];
  let lang = 'en';
  const isLang = (l) => l === 'ru' || l === 'en';

  function stored(key) { try { return localStorage.getItem(key); } catch (_) { return null; } }
  function store(key, value) {
    try { if (value == null) localStorage.removeItem(key); else localStorage.setItem(key, value); } catch (_) { /* private mode */ }
  }

  function t(key, params) {
    let s = DICT[lang][key] ?? DICT.en[key] ?? key;
    if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
    return s;
  }

  /* The page's own language (principal or branch) unless the visitor chose one with the toggle. */
  function setDefaultLang(l) {
    const chosen = stored(LANG_KEY);
    apply(isLang(chosen) ? chosen : (isLang(l) ? l : lang));
  }
  function apply(l) {
    lang = l;
    document.documentElement.lang = l;
    applyI18n(document);
    document.querySelectorAll('.lang-toggle button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.lang === l)));
    listeners.forEach((fn) => { try { fn(l); } catch (e) { console.error(e); } });
  }
  function onLang(fn) { listeners.push(fn); }
  /* A language chosen by the embedding page (the chat widget's lang): applied, not remembered. */
  function setLang(l) { if (isLang(l)) apply(l); }

  function applyI18n(root) {
    root.querySelectorAll('[data-i18n]').forEach((n) => { n.textContent = t(n.dataset.i18n); });
    root.querySelectorAll('[data-i18n-ph]').forEach((n) => { n.placeholder = t(n.dataset.i18nPh); });
    root.querySelectorAll('[data-i18n-label]').forEach((n) => {
      n.setAttribute('aria-label', t(n.dataset.i18nLabel)); n.title = t(n.dataset.i18nLabel);
    });
  }

  function mountLangToggles() {
    document.querySelectorAll('.lang-toggle').forEach((box) => {
      box.replaceChildren();
      box.setAttribute('role', 'group');
      box.setAttribute('aria-label', 'Language / Язык');
      ['ru', 'en'].forEach((l) => {
        box.appendChild(el('button', {
          type: 'button', 'data-lang': l, 'aria-pressed': String(l === lang),
          onclick: () => { store(LANG_KEY, l); apply(l); },
        }, l.toUpperCase()));
      });
    });
  }

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, (c) => (
      { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  /* el('button', {class: 'btn', onclick: fn}, 'text', node) */
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function') n.addEventListener(k.slice(2), v);
        else if (k === 'class') n.className = v;
        else if (k === 'text') n.textContent = v;
        else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'value') n[k] = v;
        else n.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) if (c != null && c !== false) n.append(c);
    return n;
  }

  const tid = (id, root) => (root || document).querySelector('[data-testid="' + id + '"]');
  function setText(node, text) { if (node) node.textContent = text == null ? '' : String(text); }
  function show(node, on) { if (node) node.classList.toggle('hidden', !on); }

  class HubError extends Error {
    constructor(status, code, message, reason, args) {
      super(message); this.status = status; this.code = code; this.reason = reason || null; this.args = args || null;
    }
  }

  /* fetch wrapper: JSON in, JSON out, {code,message} errors thrown as HubError. */
  async function api(method, path, body, opts) {
    const headers = { Accept: 'application/json' };
    if (opts && opts.token) headers.Authorization = 'Bearer ' + opts.token;
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try { res = await fetch(path, init); } catch (_) { throw new HubError(0, 'network', t('err.network')); }
    return answer(res);
  }

  async function answer(res) {
    const text = res.status === 204 ? '' : await res.text().catch(() => '');
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const code = data && typeof data.code === 'string' ? data.code : 'http_' + res.status;
      const msg = data && typeof data.message === 'string' ? data.message : (res.statusText || '');
      const reason = data && typeof data.reason === 'string' ? data.reason : null;
      const args = data && data.args && typeof data.args === 'object' ? data.args : null;
      const err = new HubError(res.status, code, msg, reason, args);
      // A form's wrong field, for the page to mark.
      if (data && typeof data.field === 'string') err.field = data.field;
      throw err;
    }
    return data;
  }

  function errorText(e) {
    if (!(e instanceof HubError)) return t('err.generic');
    // A refusal the server names a reason for is worded here, in the page's language, from
    // the reason's values (a status is a code: it is worded too).
    if (e.reason && DICT[lang]['why.' + e.reason]) {
      const args = Object.assign({}, e.args || {});
      if (typeof args.status === 'string') args.status = t('st.' + args.status);
      return t('why.' + e.reason, args);
    }
    // Otherwise the server's own words are English: shown as they are on an English page, and
    // on another only the code's sentence in that language (never a sentence half in English).
    if (lang === 'en') return e.message || DICT.en['err.' + e.code] || t('err.generic');
    return DICT[lang]['err.' + e.code] || t('err.generic');
  }

  /* The page's message line ([data-testid=message]). kind: info | error | ok. `text` may be a
     function: it is worded again when the language changes, so a line never stays in the
     language it was first shown in. */
  let wording = null;
  function message(text, kind) {
    const box = tid('message');
    if (!box) return;
    wording = typeof text === 'function' ? text : null;
    const shown = wording ? wording() : text;
    box.textContent = shown || '';
    box.dataset.kind = shown ? (kind || 'info') : '';
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    show(box, !!shown);
  }
  onLang(() => { const box = tid('message'); if (wording && box) box.textContent = wording(); });
  /* A message from the dictionary, worded in the page's language now and after a switch. */
  function say(key, params, kind) { message(() => t(key, params), kind); }
  function showError(e) { if (e) console.warn(e); message(() => errorText(e), 'error'); }
  function clearMessage() { message(''); }

  /* WebSocket with automatic reconnect; back-off doubles from 500 ms, capped at 5 s. */
  function socket(path, h) {
    const handlers = h || {};
    let ws = null; let delay = 500; let timer = null; let stopped = false;
    const status = (s) => { if (handlers.onStatus) handlers.onStatus(s); };
    function url() {
      const p = typeof path === 'function' ? path() : path;
      return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + p;
    }
    function connect() {
      clearTimeout(timer); timer = null;
      if (stopped) return;
      status(ws === null && delay === 500 ? 'connecting' : 'reconnecting');
      try { ws = new WebSocket(url()); } catch (_) { ws = null; schedule(); return; }
      const me = ws;
      me.onopen = () => { delay = 500; status('live'); if (handlers.onOpen) handlers.onOpen(); };
      me.onmessage = (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch (_) { return; }
        if (handlers.onMessage) handlers.onMessage(data);
      };
      me.onclose = () => {
        if (ws !== me) return;
        ws = null;
        if (stopped) return;
        status('reconnecting');
        if (handlers.onClose) handlers.onClose();
        schedule();
      };
    }
    function schedule() {
      if (stopped || timer) return;
      const wait = Math.min(5000, delay * (0.85 + Math.random() * 0.3));
      delay = Math.min(delay * 2, 5000);
      timer = setTimeout(connect, wait);
    }
    const now = () => { if (!stopped && !ws) { delay = 500; connect(); } };
    /* Gives up the current socket (its onclose is ignored from here on) and tries again. */
    function drop() {
      const w = ws;
      ws = null;
      if (w) { try { w.close(); } catch (_) { /* already closing */ } }
      if (stopped) return;
      status('reconnecting');
      if (handlers.onClose) handlers.onClose();
      schedule();
    }
    /* The browser lost its network: a socket can look open for minutes after its connection is
       gone (Chromium keeps it and holds what is sent), so it is dropped at once and the back-off
       takes over: senders see send() fail and keep their data. Back on line, a socket still
       trying is replaced by a fresh attempt (after which pages re-read what they missed). */
    window.addEventListener('offline', () => { if (ws) drop(); });
    window.addEventListener('online', () => { if (ws && ws.readyState !== 1) drop(); now(); });
    document.addEventListener('visibilitychange', () => { if (!document.hidden) now(); });
    connect();
    return {
      /* Sends a JSON frame when the socket is open; false when it is not (the caller keeps it). */
      send(data) {
        if (!ws || ws.readyState !== 1) return false;
        try { ws.send(JSON.stringify(data)); return true; } catch (_) { return false; }
      },
      get live() { return !!(ws && ws.readyState === 1); },
      stop() {
        stopped = true; clearTimeout(timer); timer = null;
        if (ws) { const w = ws; ws = null; w.close(); }
        status('offline');
      },
    };
  }

  /* ---------- canned responses (operator, supervisor) ---------- */
  /* A shortcut as the server keeps it (no leading /), or null when it would be refused. */
  function cannedShortcut(raw) {
    const s = String(raw == null ? '' : raw).trim().replace(/^\/+/, '');
    return /^[\p{L}\p{N}_-]{1,32}$/u.test(s) ? s : null;
  }
  function cannedError(e, shortcut) {
    return e instanceof HubError && e.code === 'conflict' ? t('canned.taken', { shortcut }) : errorText(e);
  }

  /* ---------- icons ----------
     Drawn here as SVG, shipped with the pages: emoji need a font a kiosk or an office PC may not
     have (they showed as empty boxes). 24x24, stroked in the text's colour unless `fill`. */
  const ICONS = {
    chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
    clip: 'M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.5 3.5 0 0 1 5 5l-8.6 8.6a2 2 0 0 1-2.8-2.8l7.9-7.9',
    mic: 'M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM5 11a7 7 0 0 0 14 0M12 18v3M8 21h8',
    telegram: 'M22 3L2 11l7 3 2 7 4-5 5 4zM9 14L22 3',
    email: 'M3 5h18v14H3zM3 6l9 7 9-7',
    phone: 'M5 3h4l2 5-3 2a11 11 0 0 0 6 6l2-3 5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z',
    pin: 'M12 22s7-7 7-12a7 7 0 0 0-14 0c0 5 7 12 7 12zM12 12.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z',
    clock: 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM12 7v5l3 2',
    warn: 'M12 3l10 18H2zM12 10v5M12 18v.5',
    star: 'M12 3l2.8 5.7 6.2.9-4.5 4.4 1.1 6.2L12 17.3l-5.6 2.9 1.1-6.2L3 9.6l6.2-.9z',
    close: 'M6 6l12 12M18 6L6 18',
    dot: 'M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6z',
    stop: 'M7 7h10v10H7z',
  };
  const FILLED = new Set(['star', 'dot', 'stop']);
  const SVG = 'http://www.w3.org/2000/svg';
  function icon(name, label) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', 'icon icon-' + name);
    svg.setAttribute('data-icon', name);
    const fill = FILLED.has(name);
    svg.setAttribute('fill', fill ? 'currentColor' : 'none');
    svg.setAttribute('stroke', 'currentColor');
    svg.setAttribute('stroke-width', fill ? '1' : '2');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    if (label) { svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', label); } else svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', ICONS[name] || ICONS.dot);
    svg.appendChild(path);
    return svg;
  }
  /* Every [data-icon] placeholder in static markup gets its drawing. */
  function mountIcons(root) {
    (root || document).querySelectorAll('span[data-icon]').forEach((n) => n.replaceChildren(icon(n.dataset.icon)));
  }

  /* ---------- conversations (widget, operator, supervisor) ---------- */
  const CHANNEL_ICONS = { webchat: 'chat', telegram: 'telegram', email: 'email', phone: 'phone' };
  function channelIcon(ch) {
    return el('span', { class: 'ch-icon', 'data-channel': ch || '', title: t('ch.' + ch), 'aria-label': t('ch.' + ch) },
      icon(CHANNEL_ICONS[ch] || 'dot'));
  }

  /* A v4 UUID: crypto.randomUUID exists only on secure pages (https, localhost). */
  function uuid() {
    try { if (global.crypto && typeof global.crypto.randomUUID === 'function') return global.crypto.randomUUID(); } catch (_) { /* insecure context */ }
    const b = new Uint8Array(16);
    global.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  /* Attachments: what the server accepts (it checks the content again). */
  const MAX_FILE = 5 * 1024 * 1024;
  const FILE_EXT = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', pdf: 'application/pdf', txt: 'text/plain',
    wav: 'audio/wav', ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg', webm: 'audio/webm', mp4: 'video/mp4' };
  // Browsers name a recording's type variously (video/webm for any .webm file).
  const FILE_TYPES = new Set([...Object.values(FILE_EXT), 'video/webm', 'audio/x-wav', 'audio/wave', 'audio/opus']);
  function fileType(file) {
    const ty = String(file.type || '').toLowerCase().split(';')[0].trim();
    if (FILE_TYPES.has(ty)) return ty;
    if (ty) return '';
    const ext = String(file.name || '').toLowerCase().split('.').pop();
    return FILE_EXT[ext] || '';
  }
  /* null when the file may be sent, else the text to show. */
  function fileProblem(file) {
    if (!file) return t('att.none');
    if (!fileType(file)) return t('att.type', { name: file.name });
    if (file.size > MAX_FILE) return t('att.size', { name: file.name, max: '5 MB' });
    if (file.size === 0) return t('att.empty', { name: file.name });
    return null;
  }
  /* POST path?name=… with the raw file as body → {id, name, mime, size}. */
  async function upload(path, file, token) {
    const headers = { Accept: 'application/json', 'Content-Type': fileType(file) || 'application/octet-stream' };
    if (token) headers.Authorization = 'Bearer ' + token;
    const url = path + (path.includes('?') ? '&' : '?') + 'name=' + encodeURIComponent(file.name || 'file');
    let res;
    try {
      res = await fetch(url, { method: 'POST', headers, body: file, credentials: 'same-origin', cache: 'no-store' });
    } catch (_) { throw new HubError(0, 'network', t('err.network')); }
    return answer(res);
  }
  function fmtBytes(n) {
    if (n == null || !isFinite(n)) return '';
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return Math.round(n / 1024) + ' KB';
    return (n / 1024 / 1024).toFixed(1) + ' MB';
  }
  /* Times are written one way in both languages: a clock time as 24-hour HH:MM (in the branch's
     zone where one is given), with the day before it when it is not today; a duration as m:ss,
     or h:mm:ss from an hour. */
  function fmtClock(ms, tz) {
    if (ms == null || !isFinite(ms)) return '';
    const o = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    try { return new Date(ms).toLocaleTimeString(lang, tz ? Object.assign(o, { timeZone: tz }) : o); } catch (_) {
      return new Date(ms).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    }
  }
  /* A date and time on a paper ticket: 06.12.2026 14:05, in the branch's zone. */
  function fmtDate(ms, tz) {
    if (ms == null || !isFinite(ms)) return '';
    const o = { day: '2-digit', month: '2-digit', year: 'numeric' };
    let day;
    try { day = new Date(ms).toLocaleDateString('ru', tz ? Object.assign(o, { timeZone: tz }) : o); } catch (_) {
      day = new Date(ms).toLocaleDateString('ru', { day: '2-digit', month: '2-digit', year: 'numeric' });
    }
    return day + ' ' + fmtClock(ms, tz);
  }
  function fmtTime(ms) {
    if (ms == null || !isFinite(ms) || ms <= 0) return '';
    const d = new Date(ms);
    if (new Date().toDateString() === d.toDateString()) return fmtClock(ms);
    return d.toLocaleDateString(lang, { day: 'numeric', month: 'short' }) + ', ' + fmtClock(ms);
  }
  /* An attachment as a link; images as a thumbnail inside the link. */
  function attachmentNode(a, href) {
    // Voice messages and video notes play where they are, with a link to the file beside.
    const media = /^audio\//.test(a.mime || '') ? 'audio' : /^video\//.test(a.mime || '') ? 'video' : null;
    if (media) {
      return el('span', { class: 'att att-media', 'data-testid': 'attachment', 'data-attachment-id': a.id, 'data-media': media },
        el(media, { src: href, controls: true, preload: 'metadata', class: 'att-player' }),
        el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'att-name' }, a.name || ''),
        a.size != null ? el('span', { class: 'att-size muted' }, fmtBytes(a.size)) : null);
    }
    const isImage = /^image\/(png|jpeg|gif|webp)$/.test(a.mime || '');
    const link = el('a', { class: 'att' + (isImage ? ' att-image' : ''), href, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'attachment', 'data-attachment-id': a.id });
    if (isImage) link.appendChild(el('img', { src: href, alt: a.name || '', loading: 'lazy', class: 'att-thumb' }));
    link.appendChild(el('span', { class: 'att-name' }, isImage ? null : icon('clip'), isImage ? '' : ' ', a.name || ''));
    if (a.size != null) link.appendChild(el('span', { class: 'att-size muted' }, fmtBytes(a.size)));
    return link;
  }

  /* Keeps a [data-testid=ws-status] badge in step with a socket's state. */
  function wsBadge(node) {
    let state = 'connecting';
    const paint = () => { if (node) { node.dataset.state = state; node.textContent = t('ws.' + state); } };
    onLang(paint);
    paint();
    return (s) => { state = s; paint(); };
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...a) => { clearTimeout(timer); timer = setTimeout(() => fn(...a), ms); };
  }

  function fmtDur(secs) {
    if (secs == null || !isFinite(secs)) return t('common.none');
    const s = Math.max(0, Math.round(secs));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return h ? h + ':' + String(m).padStart(2, '0') + ':' + ss : m + ':' + ss;
  }
  function fmtEta(secs) {
    if (secs == null || !isFinite(secs)) return t('eta.unknown');
    if (secs < 60) return t('eta.lt1');
    return t('eta.min', { n: Math.round(secs / 60) });
  }
  /* The hub's own notes on a voice message (no speech in it; not transcribed), stored as fixed
     marks and worded here in the reader's language; null for any other text. */
  const SPEECH_NOTES = new Map([['🎤', 'cv.noSpeech'], ['🎤 ✕', 'cv.notTranscribed']]);
  function speechNote(body) {
    const key = SPEECH_NOTES.get(body);
    return key ? '🎤 ' + t(key) : null;
  }

  function serviceName(s) {
    if (!s) return '';
    return lang === 'ru' ? (s.name_ru || s.name_en || '') : (s.name_en || s.name_ru || '');
  }
  function pathPart(i) {
    const parts = location.pathname.split('/').filter(Boolean);
    try { return decodeURIComponent(parts[i] || ''); } catch (_) { return ''; }
  }

  /* Kiosk / registrar menu: top-level entries (parent_id null) by position; a group (prefix null)
     opens its children; a service calls onPick(service). */
  function menu(root, onPick) {
    let services = []; let group = null; let busy = false;
    const byPos = (a, b) => (a.position - b.position) || (a.id - b.id);
    const ids = () => new Set(services.map((s) => s.id));
    function children(parentId) {
      const known = ids();
      return services.filter((s) => {
        const p = s.parent_id == null || !known.has(s.parent_id) ? null : s.parent_id;
        return p === parentId;
      }).sort(byPos);
    }
    const hasLeaf = (g, d = 0) => d < 8 && children(g.id).some((c) => c.prefix != null || hasLeaf(c, d + 1));
    function render() {
      root.replaceChildren();
      const head = el('div', { class: 'menu-head' });
      if (group) {
        head.appendChild(el('button', {
          type: 'button', class: 'btn menu-back', 'data-testid': 'menu-back',
          onclick: () => { const parent = services.find((s) => s.id === group.parent_id); group = parent || null; render(); },
        }, '← ' + t('common.back')));
        head.appendChild(el('h2', null, serviceName(group)));
      } else {
        head.appendChild(el('h2', null, t('kiosk.choose')));
      }
      root.appendChild(head);
      const items = children(group ? group.id : null).filter((s) => s.prefix != null || hasLeaf(s));
      const grid = el('div', { class: 'menu-grid' });
      for (const s of items) {
        const isGroup = s.prefix == null;
        grid.appendChild(el('button', {
          type: 'button', class: 'menu-btn' + (isGroup ? ' group' : ''), 'data-testid': 'service-button',
          'data-service-id': s.id, 'data-group': isGroup ? '1' : null, disabled: busy,
          onclick: () => {
            if (busy) return;
            if (isGroup) { group = s; render(); } else onPick(s);
          },
        }, el('span', { class: 'menu-name' }, serviceName(s)), isGroup ? el('span', { class: 'chev', 'aria-hidden': 'true' }, '›') : null));
      }
      if (!items.length) grid.appendChild(el('p', { class: 'muted center' }, t('kiosk.empty')));
      root.appendChild(grid);
    }
    onLang(() => { if (services.length || group) render(); });
    return {
      set(list) {
        services = Array.isArray(list) ? list.slice() : [];
        if (group) group = services.find((s) => s.id === group.id && s.prefix == null) || null;
        render();
      },
      reset() { group = null; render(); },
      busy(on) { busy = on; root.querySelectorAll('button').forEach((b) => { b.disabled = on; }); },
    };
  }

  /* Device sign-in form (kiosk, board): fields device-login / device-secret, stores the token. */
  /* A screen not signed in shows a pairing code: an admin types it at the device in the back
     office, and the screen signs in as that device. `box` holds [data-testid=pair-code]; the
     code is renewed when it expires; stop() when the screen signs in another way. */
  function pairing(box, kind, storageKey, onDone) {
    let timer = null; let ticket = null; let stopped = false;
    const code = tid('pair-code', box);
    async function fresh() {
      try {
        const p = await api('POST', '/api/pairing', { kind });
        ticket = p.ticket;
        setText(code, p.shown);
        code.dataset.code = p.code;
        show(box, true);
      } catch (_) {
        show(box, false); // the manual form stays; try again in a while
        ticket = null;
      }
      if (!stopped) timer = setTimeout(poll, ticket ? 2000 : 15000);
    }
    async function poll() {
      if (stopped) return;
      if (!ticket) { fresh(); return; }
      try {
        const res = await fetch('/api/pairing/' + encodeURIComponent(ticket), { headers: { Accept: 'application/json' }, cache: 'no-store' });
        if (res.status === 200) {
          const r = await res.json();
          stopped = true;
          store(storageKey, r.token);
          onDone(r.token, r.principal);
          return;
        }
        if (res.status === 404) { ticket = null; fresh(); return; } // expired: a new code
      } catch (_) { /* the server is away: keep trying */ }
      if (!stopped) timer = setTimeout(poll, 2000);
    }
    fresh();
    return { stop() { stopped = true; clearTimeout(timer); show(box, false); } };
  }

  function deviceForm(form, storageKey, onDone) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const login = tid('device-login', form).value.trim();
      const secret = tid('device-secret', form).value;
      const btn = tid('device-submit', form);
      btn.disabled = true;
      clearMessage();
      try {
        const r = await api('POST', '/api/auth/device', { login, secret });
        store(storageKey, r.token);
        tid('device-secret', form).value = '';
        onDone(r.token, r.principal);
      } catch (e) { showError(e); } finally { btn.disabled = false; }
    });
  }

  /* Boot: saved choice, else the browser's language; pages refine it with setDefaultLang(). */
  lang = (navigator.language || '').toLowerCase().startsWith('ru') ? 'ru' : 'en';
  if (isLang(stored(LANG_KEY))) lang = stored(LANG_KEY);
  const queue = [];
  let booted = false;
  function boot() {
    booted = true;
    document.documentElement.lang = lang;
    mountLangToggles();
    applyI18n(document);
    mountIcons(document);
    queue.splice(0).forEach((fn) => fn());
  }
  function ready(fn) { if (booted) fn(); else queue.push(fn); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot); else boot();

  global.Hub = {
    t, onLang, setDefaultLang, setLang, applyI18n, get lang() { return lang; }, esc, el, tid, setText, show,
    api, HubError, errorText, message, showError, clearMessage, socket, wsBadge, debounce,
    fmtDur, fmtEta, serviceName, pathPart, menu, deviceForm, pairing, stored, store, ready,
    speechNote, cannedShortcut, cannedError, channelIcon, icon, mountIcons, uuid, fileType, fileProblem, upload, fmtBytes, fmtTime, fmtClock, fmtDate, say, attachmentNode, MAX_FILE,
    /* The dictionary's keys per language: a test checks both have the same. */
    keys: (l) => Object.keys(DICT[l] || {}),
  };
})(window);
