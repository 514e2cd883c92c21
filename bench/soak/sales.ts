import type { Client } from '../../test/support/system.js';
import type { Answer } from '../../test/support/oracle.js';
import { roomFor } from './waiting-room.js';

// The sales of a soak, one after another: every sale sells out, or ends at its endsAt with
// stock left; every third has a payment window, in which half of its orders are paid and the
// others expire and go back on sale.
export type SoakSale = {
  id: number;
  number: number;
  stock: number;
  paymentWindow: boolean;
  endsAt: number | null;
  answers: Answer[];
  openedAt: number;
  closedAt: number | null;
};

const stock = 200;

export async function openSale(api: Client, number: number): Promise<SoakSale> {
  const paymentWindow = number % 3 === 1;
  // Every fourth sale has more stock than its minute can sell: it ends unsold.
  const endsAt = number % 4 === 3 ? Date.now() + 60_000 : null;
  const answer = await api.createSale({
    sku: `soak-${number}`,
    name: `Soak ${number}`,
    stock: endsAt ? stock * 10 : stock,
    perUserLimit: 2,
    ...(endsAt ? { endsAt: new Date(endsAt).toISOString() } : {}),
    ...(paymentWindow ? { paymentWindowSeconds: 10 } : {}),
    ...roomFor(number),
  });
  if (answer.status !== 201) throw new Error(`sale ${number}: ${answer.status}`);
  return {
    id: answer.body.id as number,
    number,
    stock: endsAt ? stock * 10 : stock,
    paymentWindow,
    endsAt,
    answers: [],
    openedAt: Date.now(),
    closedAt: null,
  };
}

// Sold out (a refusal for lack of stock, and the sale says so) or past its end.
export async function isOver(api: Client, sale: SoakSale): Promise<boolean> {
  if (sale.endsAt !== null && Date.now() > sale.endsAt) return true;
  const recent = sale.answers.slice(-20);
  if (!recent.some((a) => a.status === 409)) return false;
  const view = await api.sale(sale.id);
  return view.status === 200 && view.body.soldOut === true;
}
