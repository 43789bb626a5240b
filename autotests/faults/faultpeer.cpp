// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// A client in its own process, for tests that kill it: joins a state, appends its name to
// the state's "log", says "acknowledged <version>" on standard output once the server
// confirmed it, and then stays connected until it is killed.
//   tst_faults_peer <url> <clientIdentifier> <stateIdentifier>

#include <QStateSyncClient>

#include <QtCore/qcoreapplication.h>
#include <QtCore/qjsonarray.h>

#include <cstdio>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList arguments = app.arguments();
    if (arguments.size() != 4) {
        std::fprintf(stderr, "usage: tst_faults_peer <url> <clientIdentifier> <state>\n");
        return 2;
    }
    QStateSyncClient client(QUrl(arguments.at(1)), arguments.at(2));
    QObject::connect(&client, &QStateSyncClient::joined, &client,
                     [&] { client.append(QStringLiteral("log"), QJsonArray{arguments.at(2)}); });
    QObject::connect(&client, &QStateSyncClient::updateAcknowledged, &client,
                     [](qint64, qint64 version) {
                         std::printf("acknowledged %lld\n", static_cast<long long>(version));
                         std::fflush(stdout);
                     });
    QObject::connect(&client, &QStateSyncClient::updateFailed, &app,
                     [] { QCoreApplication::exit(1); });
    client.connectToState(arguments.at(3));
    return app.exec();
}
