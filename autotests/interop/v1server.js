// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// A server of the v1 protocol of the JavaScript server-state-sync, written from
// shared/protocol-v1.md alone: it is what a QStateSyncClient meets when it is pointed at
// the original. Updates are merged one level deep and broadcast as they came to every
// client of the state, the sender included.
//
// Usage: node v1server.js [--state <identifier> <initial value json>]...
//                         [--echo-subprotocol]
// It listens on 127.0.0.1 on a port of the system's choice. By default it selects no
// WebSocket subprotocol, whatever the client offers. --echo-subprotocol selects the
// client's first one instead, which is what the ws package does when its server is made
// without a handleProtocols option.
//
// Driven line by line (one JSON object after the keyword):
//   stdin:  VALUE <state>
//   stdout: PORT {"port"} once listening | JOINED {"state", "client"}
//           | UPDATED {"state", "client", "updates", "value"} (after the broadcast)
//           | VALUE {"state", "value"} (value null for an unknown state)
//           | DISCONNECTED {"client"}
// Ends when stdin ends, so a test that dies leaves no server behind.

'use strict';

const http = require('node:http');
const readline = require('node:readline');
const WebSocket = require('ws');

const CONNECT_TO_STATE = 2;
const UPDATE_STATE = 3;
const STATE_UPDATED = 3;
const STATE_CONNECTION_ESTABLISHED = 7;
const STATE_CONNECTION_ERROR = 8;
const STATE_UPDATE_FAILED = 9;
const UNSUPPORTED_MESSAGE_TYPE = 10;

function emit(event, payload) {
    process.stdout.write(`${event} ${JSON.stringify(payload)}\n`);
}

// identifier -> { value, clients: Set of sockets }
const states = new Map();
let echoSubprotocol = false;

const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--state' && i + 2 < argv.length) {
        states.set(argv[i + 1], { value: JSON.parse(argv[i + 2]), clients: new Set() });
        i += 2;
    } else if (argv[i] === '--echo-subprotocol') {
        echoSubprotocol = true;
    } else {
        process.stderr.write(`v1server.js: cannot use argument ${argv[i]}\n`);
        process.exit(2);
    }
}

const webSocketServer = new WebSocket.WebSocketServer({
    noServer: true,
    // ws selects the client's first subprotocol unless told otherwise; returning false
    // sends no Sec-WebSocket-Protocol header at all.
    handleProtocols: echoSubprotocol ? undefined : () => false,
});

function send(socket, type, data) {
    socket.send(JSON.stringify({ type, data }));
}

function leave(socket) {
    if (socket.stateIdentifier === undefined)
        return;
    const state = states.get(socket.stateIdentifier);
    if (state)
        state.clients.delete(socket);
    socket.stateIdentifier = undefined;
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
    socket.stateIdentifier = identifier;
    send(socket, STATE_CONNECTION_ESTABLISHED, { state: state.value });
    emit('JOINED', { state: identifier, client: socket.clientIdentifier });
}

function updateState(socket, data) {
    const state = socket.stateIdentifier !== undefined && states.get(socket.stateIdentifier);
    if (!state) {
        send(socket, STATE_UPDATE_FAILED, { message: 'Not connected to a state' });
        return;
    }
    const updates = data && data.updates;
    if (!updates || typeof updates !== 'object' || Array.isArray(updates)) {
        send(socket, STATE_UPDATE_FAILED, { message: 'No updates were given' });
        return;
    }
    // One level deep: a nested object replaces the whole property, and null is stored
    // as a value (v1 has no way to delete a key).
    state.value = { ...state.value, ...updates };
    for (const client of state.clients)
        send(client, STATE_UPDATED, { updates });
    emit('UPDATED', {
        state: socket.stateIdentifier,
        client: socket.clientIdentifier,
        updates,
        value: state.value,
    });
}

webSocketServer.on('connection', (socket, clientIdentifier) => {
    socket.clientIdentifier = clientIdentifier;
    socket.on('message', (raw, isBinary) => {
        let message;
        try {
            message = JSON.parse(raw.toString());
        } catch (error) {
            return; // as the original: malformed JSON gets no answer
        }
        if (isBinary || !message || typeof message !== 'object')
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
    socket.on('close', () => {
        leave(socket);
        emit('DISCONNECTED', { client: socket.clientIdentifier });
    });
});

const httpServer = http.createServer((request, response) => {
    response.writeHead(426, { 'Content-Type': 'text/plain' });
    response.end('WebSocket only\n');
});

httpServer.on('upgrade', (request, socket, head) => {
    const identifier = new URL(request.url, 'ws://127.0.0.1').searchParams.get('identifier');
    if (!identifier) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
    }
    webSocketServer.handleUpgrade(request, socket, head, (webSocket) => {
        webSocketServer.emit('connection', webSocket, identifier);
    });
});

httpServer.listen(0, '127.0.0.1', () => {
    emit('PORT', { port: httpServer.address().port });
});

const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
    const space = line.indexOf(' ');
    const command = space < 0 ? line : line.slice(0, space);
    const argument = space < 0 ? '' : line.slice(space + 1);
    if (command === 'VALUE') {
        const state = states.get(argument);
        emit('VALUE', { state: argument, value: state ? state.value : null });
    } else if (command !== '') {
        process.stderr.write(`v1server.js: unknown command ${command}\n`);
    }
});
input.on('close', () => process.exit(0));
