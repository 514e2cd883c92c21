// Alice buys one unit of the demo sale through its waiting room, as the page would: join the
// line, ask for her place until the room admits her, buy with the pass. So the pay curl that
// `npm start` prints names a real confirmed order. A refusal (she holds her limit from an
// earlier run) or a line that does not admit her in time only leaves that part out.
export async function placeDemoOrder(
  base: string,
  saleId: number,
  token: string,
): Promise<string | null> {
  const auth = { authorization: `Bearer ${token}` };
  const pass = await admitted(`${base}/sales/${saleId}/queue`, auth);
  if (!pass) return null;
  const answer = await fetch(`${base}/sales/${saleId}/purchase`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'x-queue-pass': pass },
    body: '{"quantity":1}',
  }).then((r) => (r.status === 202 ? (r.json() as Promise<{ orderId: string }>) : null));
  if (!answer) return null;
  for (let attempt = 0; attempt < 40; attempt++) {
    const order = await fetch(`${base}/orders/${answer.orderId}`, { headers: auth }).then(
      (r) => r.json() as Promise<{ status?: string }>,
    );
    if (order.status === 'confirmed') return answer.orderId;
    await sleep(250);
  }
  return null;
}

type Place = { state: string; ticket: string; pass?: string; pollAfterMs: number };

async function admitted(queue: string, auth: Record<string, string>): Promise<string | null> {
  const joined = await fetch(queue, { method: 'POST', headers: auth });
  if (joined.status !== 200) return null;
  let place = (await joined.json()) as Place;
  const giveUpAt = Date.now() + 30_000;
  while (place.state === 'prequeue' || place.state === 'waiting') {
    if (Date.now() > giveUpAt) return null;
    await sleep(place.pollAfterMs);
    const polled = await fetch(queue, { headers: { ...auth, 'x-queue-ticket': place.ticket } });
    if (polled.status !== 200) return null;
    place = (await polled.json()) as Place;
  }
  return place.state === 'admitted' ? (place.pass ?? null) : null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
