// The waiting room's page (API.md, Waiting room): join the line, follow the place, buy with the
// pass, follow the order. Plain ES modules, no build, served by src/api/room-page.ts; the
// solver is src/pow/browser-solver.ts, served as /room/solver.js.
import { solveChallenge } from './solver.js';
import {
  call,
  clock,
  count,
  duration,
  el,
  hms,
  now,
  problem,
  say,
  session,
  tell,
  show,
  store,
  stored,
} from './api.js';
import { followOrder, purchase } from './order.js';

const saleId = location.pathname.split('/')[2];
const tokenKey = `flashline.room.${saleId}.token`;
const ticketKey = `flashline.room.${saleId}.ticket`;
const page = { sale: null, ticket: null, pass: null, passExpiresAt: 0 };
let pollTimer = null;
let lastPosition = null;

// The token comes in the link's fragment (#token=..., never sent to a server or a log) or its
// query (?token=...), and is then taken out of the address bar, so a shared screen or a
// screenshot does not show it. sessionStorage keeps it for a reload of this tab only.
function readToken() {
  const given =
    new URLSearchParams(location.hash.slice(1)).get('token') ??
    new URLSearchParams(location.search).get('token');
  if (given) {
    store(tokenKey, given);
    history.replaceState(null, '', location.pathname);
  }
  return given ?? stored(tokenKey);
}

function tick() {
  const sale = page.sale;
  if (sale) {
    const left = Date.parse(sale.startsAt) - now();
    show('countdown-box', left > 0);
    el('countdown').textContent = hms(left);
  }
  if (page.pass) {
    const left = page.passExpiresAt - now();
    el('pass-note').textContent =
      left > 0
        ? `Your pass is held for you for ${hms(left)}.`
        : 'Your pass has expired. Checking your place…';
  }
}

function renderSale(sale) {
  page.sale = sale;
  el('sale-name').textContent = sale.name;
  document.title = `${sale.name} · Waiting room`;
  const facts = [`${count.format(sale.remaining)} of ${count.format(sale.stock)} left`];
  facts.push(`up to ${sale.perUserLimit} per buyer`);
  if (sale.waitingRoom?.waiting > 0)
    facts.push(`${count.format(sale.waitingRoom.waiting)} in line`);
  el('sale-facts').textContent = facts.join(' · ');
  el('starts-at').textContent = `Starts ${clock(sale.startsAt)}.`;
  el('quantity').max = String(sale.perUserLimit);
  tick();
}

const closedText = {
  SOLD_OUT: 'Sold out: every unit has been sold. Thank you for waiting.',
  SALE_ENDED: 'The sale has ended.',
  PASS_EXPIRED: 'Your turn came and your pass expired before a purchase.',
};

// The sale's figures again, once the buyer's part changed them.
async function refreshSale() {
  const answer = await call('GET', `/sales/${saleId}`);
  if (answer.status === 200) renderSale(answer.data);
}

function closeLine(reason, canRejoin = false) {
  void refreshSale();
  clearTimeout(pollTimer);
  page.pass = null;
  store(ticketKey, null);
  ['place-box', 'buy-box', 'countdown-box'].forEach((id) => show(id, false));
  el('closed-note').textContent = closedText[reason] ?? reason;
  show('rejoin', canRejoin);
  show('closed-box');
  el('closed-title').focus();
}

// A place from the server (join or poll): what the buyer sees follows its state.
function renderPlace(place) {
  page.ticket = place.ticket;
  tell('');
  store(ticketKey, place.ticket);
  if (place.state === 'closed') {
    return closeLine(place.reason ?? 'SALE_ENDED', place.reason === 'PASS_EXPIRED');
  }
  show('closed-box', false);
  if (place.state === 'admitted') return admit(place);
  show('buy-box', false);
  show('place-box');
  el('position').textContent =
    place.position === null ? 'drawn at the start' : count.format(place.position);
  el('position').classList.toggle('words', place.position === null);
  el('ahead').textContent = place.ahead === null ? '–' : count.format(place.ahead);
  el('eta').textContent = place.etaSeconds === null ? '–' : duration(place.etaSeconds);
  el('place-note').textContent =
    place.reason === 'SOLD_OUT'
      ? 'Sold out for now. Units held in unpaid orders may come back: keep this page open.'
      : place.state === 'prequeue'
        ? 'You are in the line. At the start everyone who joined before it is put in a random order: joining early gives no advantage, only a place.'
        : 'Keep this page open: it moves by itself, and you will be told when it is your turn.';
  // Announced when it changes by a step worth hearing, not on every poll.
  if (place.position !== null && (lastPosition === null || place.position < lastPosition * 0.9)) {
    say(`Position ${count.format(place.position)} in line.`);
    lastPosition = place.position;
  } else if (place.position === null && lastPosition === null) {
    say('You are in the line. Your place is drawn when the sale starts.');
  }
  schedulePoll(place.pollAfterMs);
}

function admit(place) {
  const first = page.pass === null;
  page.pass = place.pass;
  page.passExpiresAt = Date.parse(place.passExpiresAt);
  show('place-box', false);
  show('buy-box');
  tick();
  if (first) {
    say('It is your turn. You may buy now.');
    el('buy-title').focus();
  }
  schedulePoll(Math.max(place.pollAfterMs, 5000));
}

function schedulePoll(ms) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(poll, ms);
}

async function poll() {
  const answer = await call('GET', `/sales/${saleId}/queue`, { 'x-queue-ticket': page.ticket });
  if (answer.status === 200) return renderPlace(answer.data);
  if (answer.code === 'NOT_IN_QUEUE') {
    // The ticket goes with the join: where the server lost the place (Redis forgot the line),
    // the ticket gives it back; where the place was really given up, the join is at the back.
    const previous = page.ticket;
    store(ticketKey, null);
    tell('Your place was not found. Joining again with your ticket.');
    return join(previous);
  }
  problem(answer.data?.error?.message ?? `Unexpected answer ${answer.status}`);
  schedulePoll(5000);
}

async function proofOfWork() {
  tell('Checking this browser (a second of work, to keep bots out)…');
  const asked = await call('GET', `/sales/${saleId}/challenge`);
  if (asked.status !== 200) return null;
  return solveChallenge(asked.data);
}

async function join(previousTicket) {
  if (stored(ticketKey)) {
    page.ticket = stored(ticketKey);
    return poll();
  }
  const altcha = page.sale.proofOfWork ? await proofOfWork() : null;
  const answer = await call('POST', `/sales/${saleId}/queue`, {
    ...(altcha ? { 'x-altcha': altcha } : {}),
    ...(previousTicket ? { 'x-queue-ticket': previousTicket } : {}),
  });
  if (answer.status === 200) return renderPlace(answer.data);
  switch (answer.code) {
    case 'QUEUE_NOT_OPEN': {
      const opensAt = Date.parse(page.sale.waitingRoom.opensAt);
      tell(`The line opens ${clock(opensAt)}. This page joins it then.`);
      return setTimeout(join, Math.max(1000, opensAt - now() + Math.random() * 2000));
    }
    case 'SALE_PAUSED':
      // The kill switch holds joins, rejoins with a ticket too (API.md). The ticket is kept,
      // so that a retry, or a reload, brings the place back once the sale resumes.
      if (previousTicket) store(ticketKey, previousTicket);
      tell('The sale is paused by its team. This page keeps your place and tries again.');
      return setTimeout(join, 5000);
    case 'SOLD_OUT':
    case 'SALE_ENDED':
      return closeLine(answer.code);
    case 'NO_WAITING_ROOM':
      return openWithoutRoom();
    case 'UNAUTHORIZED':
      return askToken('That token was refused. Paste a valid buyer token.');
    default:
      problem(answer.data?.error?.message ?? `Could not join the line (${answer.status}).`);
  }
}

// A sale without a room: the purchase is open to all once the sale starts.
function openWithoutRoom() {
  const left = Date.parse(page.sale.startsAt) - now();
  if (left > 0) return setTimeout(openWithoutRoom, Math.min(left, 2 ** 31 - 1));
  tick();
  el('buy-title').textContent = 'The sale is on';
  show('buy-box');
}

async function buy(event) {
  event.preventDefault();
  const headers = {};
  if (page.pass) headers['x-queue-pass'] = page.pass;
  else if (page.sale.proofOfWork) headers['x-altcha'] = await proofOfWork();
  const bought = await purchase(saleId, Number(el('quantity').value), headers);
  if (bought.code === 'NOT_ADMITTED') return schedulePoll(0);
  if (!bought.orderId) return;
  // The pass served its purchase: the line is done with this buyer.
  clearTimeout(pollTimer);
  page.pass = null;
  store(ticketKey, null);
  await followOrder(bought.orderId);
  return refreshSale();
}

function askToken(message) {
  show('token-box');
  problem(message ?? '');
  el('token').focus();
}

async function start() {
  const answer = await call('GET', `/sales/${saleId}`);
  if (answer.status !== 200) {
    el('sale-name').textContent = 'No such sale';
    return problem('This link names no sale.');
  }
  renderSale(answer.data);
  setInterval(tick, 1000);
  session.token = readToken();
  if (!session.token) return askToken();
  if (answer.data.endsAt && Date.parse(answer.data.endsAt) <= now()) return closeLine('SALE_ENDED');
  if (!answer.data.waitingRoom) return openWithoutRoom();
  return join();
}

el('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  session.token = el('token').value.trim();
  store(tokenKey, session.token);
  show('token-box', false);
  void (page.sale.waitingRoom ? join() : openWithoutRoom());
});
el('buy-form').addEventListener('submit', (event) => void buy(event));
el('leave').addEventListener('click', async () => {
  await call('DELETE', `/sales/${saleId}/queue`);
  closeLine('You left the line. Your place is gone.', true);
});
el('rejoin').addEventListener('click', () => {
  show('closed-box', false);
  lastPosition = null;
  void join();
});
void start();
