import { describe, expect, it } from 'vitest';
import { ipLimitKey } from '../src/client-ip';

describe('ipLimitKey', () => {
  it('counts an IPv4 address as itself', () => {
    expect(ipLimitKey('203.0.113.7')).toBe('203.0.113.7');
    expect(ipLimitKey(' 203.0.113.7 ')).toBe('203.0.113.7');
  });

  it('counts IPv6 addresses by their /64, however they are written', () => {
    const key = '2001:db8:1:2::/64';
    for (const ip of ['2001:db8:1:2::1', '2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2:a:b:c:d', '2001:db8:1:2::1%eth0']) {
      expect(ipLimitKey(ip), ip).toBe(key);
    }
    expect(ipLimitKey('2001:db8:1:3::1')).not.toBe(key);
    expect(ipLimitKey('::1')).toBe('0:0:0:0::/64');
    expect(ipLimitKey('2001:db8::')).toBe('2001:db8:0:0::/64');
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 client', () => {
    expect(ipLimitKey('::ffff:198.51.100.4')).toBe('198.51.100.4');
    expect(ipLimitKey('::ffff:c633:6404')).toBe('198.51.100.4');
  });

  it('keeps something that is not an address as it is, so it is still limited', () => {
    for (const junk of ['unknown', '1:2:3', '1::2::3', 'zz::1', '::1.2.3.999']) expect(ipLimitKey(junk)).toBe(junk);
  });
});
