// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef FAULTPROXY_H
#define FAULTPROXY_H

// A TCP proxy on 127.0.0.1 that sits between clients and a server and breaks the network
// on demand: it cuts connections without a WebSocket close frame (as a dropped Wi-Fi or a
// killed process does), freezes them (the peers stay connected but nothing arrives, as
// with a dead route), or refuses new ones (a server that is down).

#include <QtCore/qobject.h>
#include <QtCore/qurl.h>
#include <QtNetwork/qtcpserver.h>
#include <QtNetwork/qtcpsocket.h>

#include <memory>

class FaultProxy : public QObject
{
public:
    explicit FaultProxy(quint16 targetPort, QObject *parent = nullptr)
        : QObject(parent)
        , m_targetPort(targetPort)
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] { accept(); });
        if (!m_server.listen(QHostAddress::LocalHost, 0))
            qFatal("proxy cannot listen: %s", qPrintable(m_server.errorString()));
    }
    ~FaultProxy() override { cutAll(); }

    quint16 port() const { return m_server.serverPort(); }
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port())); }
    void setTargetPort(quint16 port) { m_targetPort = port; }
    // While refusing, new connections are closed at once.
    void setRefusing(bool refusing) { m_refusing = refusing; }
    int connectionCount() const { return int(m_links.size()); }
    int acceptedCount() const { return m_accepted; }

    // Drops every connection at once, in both directions, without a close frame.
    void cutAll()
    {
        const auto links = std::exchange(m_links, {});
        for (const auto &link : links)
            link->cut();
    }
    // Drops the connection accepted as index (0 is the oldest still open).
    void cut(int index)
    {
        if (index < 0 || index >= m_links.size())
            return;
        const auto link = m_links.takeAt(index);
        link->cut();
    }
    // The open connections stop carrying bytes either way; new ones work.
    void freezeAll()
    {
        for (const auto &link : std::as_const(m_links))
            link->frozen = true;
    }

private:
    struct Link
    {
        std::unique_ptr<QTcpSocket> downstream; // the client's side
        std::unique_ptr<QTcpSocket> upstream; // the server's side
        bool frozen = false;
        bool closed = false;

        void cut()
        {
            if (std::exchange(closed, true))
                return;
            // Queued signals of the sockets may still come: disconnect them first.
            QObject::disconnect(downstream.get(), nullptr, nullptr, nullptr);
            QObject::disconnect(upstream.get(), nullptr, nullptr, nullptr);
            downstream->abort();
            upstream->abort();
            downstream.release()->deleteLater();
            upstream.release()->deleteLater();
        }
    };

    void accept()
    {
        while (QTcpSocket *socket = m_server.nextPendingConnection()) {
            ++m_accepted;
            if (m_refusing) {
                socket->abort();
                socket->deleteLater();
                continue;
            }
            auto link = std::make_shared<Link>();
            link->downstream.reset(socket);
            socket->setParent(nullptr);
            link->upstream = std::make_unique<QTcpSocket>();
            QTcpSocket *down = link->downstream.get();
            QTcpSocket *up = link->upstream.get();
            const std::weak_ptr<Link> weak = link;
            const auto forward = [weak](QTcpSocket *from, QTcpSocket *to) {
                const auto link = weak.lock();
                if (!link || link->frozen)
                    return;
                to->write(from->readAll());
            };
            const auto close = [this, weak] {
                const auto link = weak.lock();
                if (!link || link->closed)
                    return;
                link->closed = true;
                m_links.removeOne(link);
                // Closing one side signals synchronously: take the signals away first.
                QObject::disconnect(link->downstream.get(), nullptr, nullptr, nullptr);
                QObject::disconnect(link->upstream.get(), nullptr, nullptr, nullptr);
                // Pass on what was still in flight, then close the other side as well.
                link->downstream->write(link->upstream->readAll());
                link->upstream->write(link->downstream->readAll());
                link->downstream->disconnectFromHost();
                link->upstream->disconnectFromHost();
                link->downstream.release()->deleteLater();
                link->upstream.release()->deleteLater();
            };
            connect(down, &QTcpSocket::readyRead, this, [=] { forward(down, up); });
            connect(up, &QTcpSocket::readyRead, this, [=] { forward(up, down); });
            connect(up, &QTcpSocket::connected, this, [=] { forward(down, up); });
            connect(down, &QTcpSocket::disconnected, this, close);
            connect(up, &QTcpSocket::disconnected, this, close);
            connect(up, &QTcpSocket::errorOccurred, this, [=](QAbstractSocket::SocketError) {
                if (up->state() != QAbstractSocket::ConnectedState)
                    close();
            });
            m_links.append(link);
            up->connectToHost(QHostAddress::LocalHost, m_targetPort);
        }
    }

    QTcpServer m_server;
    quint16 m_targetPort;
    bool m_refusing = false;
    int m_accepted = 0;
    QList<std::shared_ptr<Link>> m_links;
};

#endif // FAULTPROXY_H
