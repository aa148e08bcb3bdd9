import t from 'tap'
import { trustProxyFrom } from '../../src/http/trust-proxy.js'

t.test('TRUST_PROXY unset or empty trusts no proxy', async (t) => {
  for (const value of [undefined, '', ' , ']) t.equal(trustProxyFrom(value), false, JSON.stringify(value))
})

t.test('TRUST_PROXY trusts exactly the addresses, ranges and named ranges it lists', async (t) => {
  const trusted = trustProxyFrom('10.0.0.0/8, loopback,192.0.2.10')
  t.type(trusted, 'function')
  if (trusted === false) return
  for (const address of ['10.1.2.3', '127.0.0.1', '::1', '192.0.2.10']) t.ok(trusted(address, 0), `${address} is trusted`)
  for (const address of ['192.0.2.11', '172.16.0.1', '203.0.113.7']) t.notOk(trusted(address, 0), `${address} is not`)
})

t.test('TRUST_PROXY refuses what is not an address or range, trusting everyone included', async (t) => {
  for (const value of ['true', '*', '10.0.0.0/33', 'proxy.internal', '10.0.0.1,300.0.0.1']) {
    t.throws(() => trustProxyFrom(value), { message: /^TRUST_PROXY must list IP addresses, CIDR ranges, loopback, linklocal or uniquelocal, separated by commas \(.+\)$/ }, value)
  }
})

t.test('TRUST_PROXY refuses ranges wider than /8 (IPv4) or /16 (IPv6), which would trust most of the internet', async (t) => {
  const wide = ['0.0.0.0/1,128.0.0.0/1', '10.0.0.1, 8.0.0.0/7', '0.0.0.0/128.0.0.0', '::/1', '2000::/3', '::ffff:0.0.0.0/96']
  for (const value of wide) {
    t.throws(() => trustProxyFrom(value), { message: /^TRUST_PROXY range "[^"]+" is wider than \/8 for IPv4 or \/16 for IPv6: list only your proxies' addresses$/ }, value)
  }
  for (const value of ['10.0.0.0/8', '10.0.0.0/255.0.0.0', '2001:db8::/32', 'fd00::/16', '::ffff:10.0.0.0/104', 'uniquelocal']) {
    t.type(trustProxyFrom(value), 'function', `${value} is accepted`)
  }
})
