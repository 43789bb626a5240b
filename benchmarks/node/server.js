// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The benchmarks' reference: a server of the v1 protocol of the JavaScript
// server-state-sync (see protocol-v1 in the project's shared notes, and doc/protocol.md
// section 8), written the way the original works, on Node.js and the ws package alone.
// A client opens ws://HOST:PORT/?identifier=ID, joins a state with CONNECT_TO_STATE and
// sends UPDATE_STATE; the update is merged one level deep into the state's value and
// broadcast as STATE_UPDATED to every client of the state, the sender included. The
// broadcast is serialized once (one JSON.stringify, one Buffer) and that Buffer is sent
// to every client: the peer gets every advantage a careful Node.js server would have.
//
// Usage: node server.js [--port N] [--host ADDR] [--config FILE] [--state ID]...
//   --port     0 (the default) picks a free port
//   --host     127.0.0.1 by default
//   --config   a qstatesyncd configuration file: its "states" (identifier, initialValue)
//              are created, every other key is ignored
//   --state    create an empty state
// When it listens it prints, like qstatesyncd:
//   node-v1-server listening on ws://127.0.0.1:PORT states: N
// SIGINT and SIGTERM end it.

'use strict';

const fs = require('node:fs');
const http = require('node:http');
const WebSocket = require('ws');

const CONNECT_TO_STATE = 2;
const UPDATE_STATE = 3;
const STATE_UPDATED = 3;
const STATE_CONNECTION_ESTABLISHED = 7;
const STATE_CONNECTION_ERROR = 8;
const STATE_UPDATE_FAILED = 9;
const UNSUPPORTED_MESSAGE_TYPE = 10;

// identifier -> { value, clients: Set of sockets }
const states = new Map();
let port = 0;
let host = '127.0.0.1';

function fail(message) {
    process.stderr.write(`server.js: ${message}\n`);
    process.exit(2);
}

function createState(identifier, initialValue) {
    if (typeof identifier !== 'string' || identifier === '')
        fail('a state needs an identifier');
    if (states.has(identifier))
        fail(`the state ${identifier} is there twice`);
    states.set(identifier, { value: { ...(initialValue || {}) }, clients: new Set() });
}

const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
    const value = argv[i + 1];
    if (value === undefined)
        fail(`${argv[i]} needs a value`);
    switch (argv[i]) {
    case '--port':
        port = Number(value);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
            fail(`bad port ${value}`);
        break;
    case '--host':
        host = value;
        break;
    case '--config': {
        let config;
        try {
            config = JSON.parse(fs.readFileSync(value, 'utf8'));
        } catch (error) {
            fail(`${value}: ${error.message}`);
        }
        for (const state of config.states || [])
            createState(state.identifier, state.initialValue);
        break;
    }
    case '--state':
        createState(value, {});
        break;
    default:
        fail(`unknown argument ${argv[i]}`);
    }
    ++i;
}

function send(socket, type, data) {
    socket.send(JSON.stringify({ type, data }));
}

function leave(socket) {
    if (socket.state === undefined)
        return;
    socket.state.clients.delete(socket);
    socket.state = undefined;
}

function connectToState(socket, data) {
    const identifier = data && data.stateIdentifier;
    if (!identifier) {
        send(socket, STATE_CONNECTION_ERROR, { message: 'No stateIdentifier was given' });
        return;
    }
    const state = states.get(identifier);
    if (!state) {
        send(socket, STATE_CONNECTION_ERROR,
             { message: `State with identifier ${identifier} does not exist` });
        return;
    }
    leave(socket);
    state.clients.add(socket);
    socket.state = state;
    send(socket, STATE_CONNECTION_ESTABLISHED, { state: state.value });
}

function updateState(socket, data) {
    const state = socket.state;
    if (!state) {
        send(socket, STATE_UPDATE_FAILED, { message: 'Not connected to a state' });
        return;
    }
    const updates = data && data.updates;
    if (!updates || typeof updates !== 'object' || Array.isArray(updates)) {
        send(socket, STATE_UPDATE_FAILED, { message: 'No updates were given' });
        return;
    }
    // One level deep, as the original: a nested object replaces the whole property.
    state.value = { ...state.value, ...updates };
    const frame = Buffer.from(JSON.stringify({ type: STATE_UPDATED, data: { updates } }));
    for (const client of state.clients)
        client.send(frame, { binary: false });
}

const webSocketServer = new WebSocket.WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
});

webSocketServer.on('connection', (socket) => {
    socket.state = undefined;
    socket.on('message', (raw, isBinary) => {
        if (isBinary)
            return;
        let message;
        try {
            message = JSON.parse(raw);
        } catch (error) {
            return; // as the original: malformed JSON gets no answer
        }
        if (!message || typeof message !== 'object')
            return;
        switch (message.type) {
        case CONNECT_TO_STATE:
            connectToState(socket, message.data);
            break;
        case UPDATE_STATE:
            updateState(socket, message.data);
            break;
        default:
            send(socket, UNSUPPORTED_MESSAGE_TYPE,
                 { message: `Message type ${message.type} is not supported` });
        }
    });
    socket.on('close', () => leave(socket));
    socket.on('error', () => leave(socket));
});

const httpServer = http.createServer((request, response) => {
    response.writeHead(426, { 'Content-Type': 'text/plain' });
    response.end('WebSocket only\n');
});

httpServer.on('upgrade', (request, socket, head) => {
    const identifier = new URL(request.url, 'ws://localhost').searchParams.get('identifier');
    if (!identifier) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
    }
    webSocketServer.handleUpgrade(request, socket, head, (webSocket) => {
        webSocketServer.emit('connection', webSocket, request);
    });
});

httpServer.on('error', (error) => fail(error.message));
// Node's default backlog (511), as the original's http server has it.
httpServer.listen(port, host, () => {
    const address = httpServer.address();
    process.stdout.write(`node-v1-server listening on ws://${host}:${address.port} `
                         + `states: ${states.size}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM'])
    process.on(signal, () => process.exit(0));
