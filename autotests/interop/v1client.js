// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// A client of the v1 protocol of the JavaScript server-state-sync, written from
// shared/protocol-v1.md alone. It stands in for an application written against the
// original package, so it keeps its copy of the state the way the original client does:
// the whole value on STATE_CONNECTION_ESTABLISHED, then every STATE_UPDATED merged one
// level deep. It never sends a WebSocket subprotocol, as the original does not.
//
// Usage: node v1client.js <url> <identifier> [token] [--join <state>] [--update <json>]...
// The --join and --update actions run in order once the socket is open.
//
// Driven line by line (one JSON object after the keyword):
//   stdin:  JOIN <state> | UPDATE <updates json> | SEND <raw message json> | COPY | CLOSE
//   stdout: OPEN {"protocol"} | RECEIVED {"message", "copy"} (after each message, the copy
//           already updated) | COPY {"copy"} | CLOSED {"code", "reason"} | ERROR {"message"}
// Ends when the socket closes or stdin ends, so a test that dies leaves no client behind.

'use strict';

const readline = require('node:readline');
const WebSocket = require('ws');

const CONNECT_TO_STATE = 2;
const UPDATE_STATE = 3;
const STATE_UPDATED = 3;
const STATE_CONNECTION_ESTABLISHED = 7;

function emit(event, payload) {
    process.stdout.write(`${event} ${JSON.stringify(payload)}\n`);
}

function fail(message) {
    emit('ERROR', { message });
    process.exit(1);
}

const positional = [];
const actions = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--join' || argv[i] === '--update') {
        if (i + 1 >= argv.length)
            fail(`${argv[i]} needs a value`);
        actions.push(`${argv[i] === '--join' ? 'JOIN' : 'UPDATE'} ${argv[++i]}`);
    } else {
        positional.push(argv[i]);
    }
}
if (positional.length < 2)
    fail('usage: v1client.js <url> <identifier> [token] [--join <state>] [--update <json>]...');
const [endpoint, identifier, token = ''] = positional;

const url = new URL(endpoint);
url.searchParams.set('identifier', identifier);
url.searchParams.set('token', token);

let copy = {};
const socket = new WebSocket(url.toString());

function send(type, data) {
    socket.send(JSON.stringify({ type, data }));
}

function runCommand(line) {
    const space = line.indexOf(' ');
    const command = space < 0 ? line : line.slice(0, space);
    const argument = space < 0 ? '' : line.slice(space + 1);
    try {
        switch (command) {
        case 'JOIN':
            send(CONNECT_TO_STATE, { stateIdentifier: argument });
            break;
        case 'UPDATE':
            send(UPDATE_STATE, { updates: JSON.parse(argument) });
            break;
        case 'SEND':
            // Raw, so that a test can send what no well-behaved client would.
            socket.send(argument);
            break;
        case 'COPY':
            emit('COPY', { copy });
            break;
        case 'CLOSE':
            socket.close(1000);
            break;
        case '':
            break;
        default:
            emit('ERROR', { message: `unknown command ${command}` });
        }
    } catch (error) {
        emit('ERROR', { message: `${command}: ${error.message}` });
    }
}

// Commands that arrive before the socket opens wait for it: the test may write them
// right after starting the process.
const pending = [];
let open = false;

socket.on('open', () => {
    open = true;
    emit('OPEN', { protocol: socket.protocol });
    for (const line of actions.concat(pending.splice(0)))
        runCommand(line);
});

socket.on('message', (raw, isBinary) => {
    if (isBinary) {
        emit('ERROR', { message: 'binary message received' });
        return;
    }
    let message;
    try {
        message = JSON.parse(raw.toString());
    } catch (error) {
        emit('ERROR', { message: `not JSON: ${raw.toString()}` });
        return;
    }
    const data = message && message.data;
    if (message.type === STATE_CONNECTION_ESTABLISHED && data)
        copy = data.state;
    else if (message.type === STATE_UPDATED && data)
        copy = { ...copy, ...data.updates };
    emit('RECEIVED', { message, copy });
});

socket.on('close', (code, reason) => {
    emit('CLOSED', { code, reason: reason.toString() });
    process.exit(0);
});

socket.on('error', (error) => {
    emit('ERROR', { message: error.message });
});

const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
    if (open)
        runCommand(line);
    else
        pending.push(line);
});
input.on('close', () => process.exit(0));
