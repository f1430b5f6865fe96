// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * allow-existing-connections: the runner's own long-lived connections (to GitHub's broker and
 * results service) were opened before the firewall, so no DNS answer taught it their
 * addresses, and TC egress would drop their packets. Until the kernel side remembers
 * pre-existing sockets itself, the action allows the remote address and port of every TCP
 * connection established when it starts (/proc/net/tcp and tcp6 of the runner's network
 * namespace): as an allowed CIDR rule (ip/32:port), so new connections to exactly those
 * destinations are allowed too for the job's duration. Loopback is never filtered and skipped.
 */
const os = require('node:os');

const TCP_ESTABLISHED = '01';

/* One 32-bit word as the kernel prints it (%08X of a network-order value read natively). */
function wordBytes(hex, little) {
	const b = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));

	return little ? b.reverse() : b;
}

function parseAddr(hex, little) {
	if (!/^[0-9A-Fa-f]+$/.test(hex) || (hex.length !== 8 && hex.length !== 32))
		return null;
	const bytes = [];

	for (let i = 0; i < hex.length; i += 8)
		bytes.push(...wordBytes(hex.slice(i, i + 8), little));
	if (bytes.length === 4)
		return { v6: false, bytes };
	/* ::ffff:a.b.c.d: an IPv4 peer of an IPv6 socket. */
	if (bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
		return { v6: false, bytes: bytes.slice(12) };
	return { v6: true, bytes };
}

function formatV6(bytes) {
	const groups = [];

	for (let i = 0; i < 16; i += 2)
		groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
	/* Longest run of zero groups (at least two) becomes "::". */
	let best = -1, bestLen = 0;
	for (let i = 0; i < 8;) {
		let j = i;

		while (j < 8 && groups[j] === '0')
			j++;
		if (j - i > bestLen && j - i >= 2)
			[best, bestLen] = [i, j - i];
		i = j > i ? j : i + 1;
	}
	if (best < 0)
		return groups.join(':');
	return groups.slice(0, best).join(':') + '::' + groups.slice(best + bestLen).join(':');
}

function isSkipped(a) {
	if (!a.v6)
		return a.bytes[0] === 127 || a.bytes.every((x) => x === 0);
	const zeroHead = a.bytes.slice(0, 15).every((x) => x === 0);
	return zeroHead && (a.bytes[15] === 1 || a.bytes[15] === 0); /* ::1, :: */
}

/*
 * text: the contents of /proc/net/tcp or /proc/net/tcp6. little: host byte order is little
 * endian (default: this machine's). Returns allowed-cidrs entries, deduplicated.
 */
function establishedPeers(text, little = os.endianness() === 'LE') {
	const out = new Set();

	for (const line of text.split('\n').slice(1)) {
		const f = line.trim().split(/\s+/);

		if (f.length < 4 || f[3] !== TCP_ESTABLISHED)
			continue;
		const [addrHex, portHex] = f[2].split(':');
		const a = parseAddr(addrHex, little);
		const port = parseInt(portHex, 16);

		if (!a || !(port > 0 && port < 65536) || isSkipped(a))
			continue;
		out.add(a.v6 ? `[${formatV6(a.bytes)}]:${port}` : `${a.bytes.join('.')}/32:${port}`);
	}
	return [...out];
}

module.exports = { establishedPeers, formatV6, parseAddr };
