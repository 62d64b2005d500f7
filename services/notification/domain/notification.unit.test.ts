import { describe, expect, it } from 'vitest';
import { composeConfirmation, formatMoney } from './notification.ts';

describe('formatMoney', () => {
  it.each([
    { amount: 2999, currency: 'USD', text: '29.99 USD' },
    { amount: 5, currency: 'USD', text: '0.05 USD' },
    { amount: 0, currency: 'USD', text: '0.00 USD' },
    { amount: 100000, currency: 'EUR', text: '1000.00 EUR' },
  ])('given $amount minor units of $currency, when formatted, then it reads "$text"', ({ amount, currency, text }) => {
    expect(formatMoney(amount, currency)).toBe(text);
  });
});

describe('composeConfirmation', () => {
  it('given a paid order, when the confirmation is composed, then it is an ORDER_CONFIRMED email to the customer with the amount', () => {
    const notice = composeConfirmation('8a7c5f0e-1d2b-4c3a-9e8f-0123456789ab', 'customer-1', 5998, 'USD');

    expect(notice).toEqual({
      template: 'ORDER_CONFIRMED',
      channel: 'email',
      recipient: 'customer-1',
      subject: 'Order 8a7c5f0e confirmed',
      body: 'Thank you. We received your payment of 59.98 USD; your order is on its way to shipping.',
    });
  });

  it('given a short order id, when composed, then the subject uses all of it', () => {
    expect(composeConfirmation('o-1', 'c', 1, 'USD').subject).toBe('Order o-1 confirmed');
  });
});
