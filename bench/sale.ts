// Opens a sale through the API's admin route, as an operator would; returns its id.
export async function createSale(
  apiUrl: string,
  adminToken: string,
  sku: string,
  stock: number,
  perUserLimit = 1,
): Promise<number> {
  const response = await fetch(`${apiUrl}/admin/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sku, name: sku, stock, perUserLimit }),
  });
  if (response.status !== 201) throw new Error(`create sale ${sku}: ${response.status}`);
  return ((await response.json()) as { id: number }).id;
}
