// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCHTTPREQUEST_H
#define QSTATESYNCHTTPREQUEST_H

#include "qstatesync_global.h"

#include <QtCore/qobject.h>
#include <QtCore/qurl.h>
#include <QtCore/qvariant.h>
#include <QtNetwork/qhostaddress.h>

#include <memory>

class QStateSyncHttpRequestPrivate;

class Q_STATESYNC_EXPORT QStateSyncHttpRequest : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QString method READ method CONSTANT)
    Q_PROPERTY(QUrl url READ url CONSTANT)
    Q_PROPERTY(QString path READ path CONSTANT)
    Q_PROPERTY(QVariantMap headers READ headers CONSTANT)
    Q_PROPERTY(QString peerAddress READ peerAddressString CONSTANT)
    Q_PROPERTY(bool answered READ isAnswered NOTIFY answeredChanged)

public:
    ~QStateSyncHttpRequest() override;

    QString method() const;
    QUrl url() const;
    QString path() const;
    QVariantMap headers() const;
    QByteArray header(const QByteArray &name) const;
    QHostAddress peerAddress() const;
    QString peerAddressString() const;
    bool isAnswered() const;
    bool isDeferred() const;

public Q_SLOTS:
    void respond(int status, const QByteArray &body,
                 const QByteArray &contentType = QByteArrayLiteral("text/plain; charset=utf-8"));
    void defer();

Q_SIGNALS:
    void answeredChanged();
    void responded(int status, const QByteArray &body, const QByteArray &contentType);

private:
    friend class QStateSyncTransport;
    QStateSyncHttpRequest(const QByteArray &method, const QUrl &url,
                          const QList<QPair<QByteArray, QByteArray>> &headers,
                          const QHostAddress &peerAddress, QObject *parent);

    Q_DISABLE_COPY_MOVE(QStateSyncHttpRequest)
    std::unique_ptr<QStateSyncHttpRequestPrivate> const d;
};

#endif // QSTATESYNCHTTPREQUEST_H
