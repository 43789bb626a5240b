// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCHTTPHEADERS_P_H
#define QSTATESYNCHTTPHEADERS_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include <QtCore/qbytearray.h>
#include <QtCore/qlist.h>
#include <QtCore/qvariant.h>

// The headers of an HTTP request head as the transport read them (names in lower case),
// and the two ways the request objects hand them out.
namespace QStateSyncHttpHeaders {

using Headers = QList<QPair<QByteArray, QByteArray>>;

inline QByteArray value(const Headers &headers, QByteArrayView name)
{
    for (const auto &header : headers) {
        if (header.first.compare(name, Qt::CaseInsensitive) == 0)
            return header.second;
    }
    return QByteArray();
}

inline QVariantMap toVariantMap(const Headers &headers)
{
    QVariantMap result;
    for (const auto &header : headers)
        result.insert(QString::fromLatin1(header.first), QString::fromLatin1(header.second));
    return result;
}

} // namespace QStateSyncHttpHeaders

#endif // QSTATESYNCHTTPHEADERS_P_H
