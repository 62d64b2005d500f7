/** The message a customer gets when an order is paid. Pure: ids and time come from outside. */
export interface Notice {
  template: 'ORDER_CONFIRMED';
  channel: 'email';
  recipient: string;
  subject: string;
  body: string;
}

export const formatMoney = (amount: number, currency: string): string => `${(amount / 100).toFixed(2)} ${currency}`;

export function composeConfirmation(orderId: string, customerId: string, amount: number, currency: string): Notice {
  return {
    template: 'ORDER_CONFIRMED',
    channel: 'email',
    recipient: customerId,
    subject: `Order ${orderId.slice(0, 8)} confirmed`,
    body: `Thank you. We received your payment of ${formatMoney(amount, currency)}; your order is on its way to shipping.`,
  };
}
