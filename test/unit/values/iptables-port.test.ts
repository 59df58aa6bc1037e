import t from 'tap';
import { iptablesPortList, parseIptablesPort } from '../../../policies/values/iptables-port.js';

// iptables extensions/libxt_tcp.c parse_tcp_ports and libxtables/xtables.c xtables_parse_port
// (xtables_strtoui → xtables_strtoul_base with base 0, then the service name).
t.test('parseIptablesPort mirrors parse_tcp_ports / xtables_parse_port', async (t) => {
  const table: [string, ReturnType<typeof parseIptablesPort>][] = [
    ['9017', { kind: 'port', from: 9017, to: 9017, plain: true }],
    ['0', { kind: 'port', from: 0, to: 0, plain: true }],
    ['\t 80', { kind: 'port', from: 80, to: 80, plain: true }],
    ['+80', { kind: 'port', from: 80, to: 80, plain: true }],
    ['010', { kind: 'port', from: 8, to: 8, plain: false }],
    ['0X1f', { kind: 'port', from: 31, to: 31, plain: false }],
    ['00000000000000000021', { kind: 'port', from: 17, to: 17, plain: false }],
    ['99999999999999999999', { kind: 'invalid', reason: 'is not a port number 0–65535' }],
    ['0x', { kind: 'invalid', reason: 'is not a port number 0–65535' }],
    ['+', { kind: 'invalid', reason: 'is not a port number 0–65535' }],
    ['-5', { kind: 'invalid', reason: 'is not a port number 0–65535' }],
    ['08', { kind: 'invalid', reason: 'starts with 0, so iptables reads it as octal, and it has the digit 8 or 9' }],
    ['1-2', { kind: 'invalid', reason: 'is a range written with "-"; iptables writes ranges as a:b' }],
    ['80 ', { kind: 'invalid', reason: 'has white space, which iptables skips only before a number' }],
    [' http', { kind: 'invalid', reason: 'has white space, which iptables skips only before a number' }],
    ['http', { kind: 'service', name: 'http' }],
    ['1:2', { kind: 'port', from: 1, to: 2, plain: true }],
    [':', { kind: 'port', from: 0, to: 65535, plain: true }],
    ['1:010', { kind: 'port', from: 1, to: 8, plain: false }],
    ['http:https', { kind: 'service', name: 'http:https' }],
    ['80:https', { kind: 'service', name: '80:https' }],
    ['2:1', { kind: 'invalid', reason: 'is a range whose first port is above its last' }],
    ['1:2 ', { kind: 'invalid', reason: 'the range side "2 " has white space, which iptables skips only before a number' }],
    ['x y:2', { kind: 'invalid', reason: 'the range side "x y" has white space, which iptables skips only before a number' }],
    ['1:2:3', { kind: 'invalid', reason: 'the range side "2:3" is not a port number 0–65535' }],
  ];
  for (const [input, want] of table) t.same(parseIptablesPort(input), want, JSON.stringify(input));
});

t.test('iptablesPortList: the first refused element, or notes on the ones iptables reads differently', async (t) => {
  t.same(iptablesPortList('9017,9021'), {});
  t.match(iptablesPortList('9017,,80').error, /^element 2 \(""\) is empty; iptables refuses it/);
  t.match(iptablesPortList('010,http').warning, /element 1 \("010"\) is read by iptables as port 8 .*; element 2 \("http"\) is looked up as a service name/);
  t.match(iptablesPortList('1:010').warning, /is read by iptables as ports 1:8/);
});
