import Foundation
import Mustache
import WalletCore

/// The console's mustache templates (HTML-escaped `{{…}}`; `{{{…}}}` only for the server-rendered chart and the
/// page body). Kept in the binary: a console that cannot find its templates must not start half-working.
struct ConsolePages: Sendable {
    private let library: MustacheLibrary

    init() throws {
        var library = MustacheLibrary()
        for (name, text) in Self.templates { try library.register(text, named: name) }
        self.library = library
    }

    func render(_ name: String, _ values: [String: Any]) -> String {
        library.render(values, withTemplate: name) ?? "template \(name) missing"
    }

    /// The hidden fields every action form carries.
    private static let formFields =
        #"<input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="back" value="{{back}}">"#

    static let templates: [String: String] = [
        "layout": #"""
        <!doctype html>
        <html lang="ja"><head><meta charset="utf-8"><title>BankGateway desk</title>
        <style>
        body{font-family:system-ui,"Noto Sans CJK JP",sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
        header{background:#1d2330;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
        header a{color:#cfd8ff;text-decoration:none}header a.on{color:#fff;font-weight:bold}
        header .who{margin-left:auto;font-size:12px;color:#aab}
        main{padding:16px}table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:16px}
        th,td{border-bottom:1px solid #e3e6ec;padding:4px 8px;text-align:left;font-size:13px;vertical-align:top}
        th{background:#eef0f5}.msg{background:#e3f6e8;padding:8px;margin-bottom:8px}
        .error{background:#fde2e2;padding:8px;margin-bottom:8px}.critical{color:#fff;background:#b00020}
        .high{color:#b00020;font-weight:bold}.medium{color:#b26a00}.low{color:#555}
        form.inline{display:inline-flex;gap:4px;margin:0}input[type=text]{width:14em}
        .bank{background:#fff;padding:8px;margin-bottom:12px;border:1px solid #e3e6ec}
        </style></head><body>
        <header><b>BankGateway 監視デスク</b>
        <a href="/" {{#nav_overview}}class="on"{{/nav_overview}}>Overview</a>
        <a href="/alerts" {{#nav_alerts}}class="on"{{/nav_alerts}}>Alerts</a>
        <a href="/holds" {{#nav_holds}}class="on"{{/nav_holds}}>Holds</a>
        <a href="/approvals" {{#nav_approvals}}class="on"{{/nav_approvals}}>Approvals</a>
        <form class="inline" action="/wallets" method="get"><input type="text" name="id" placeholder="wallet W0000001"></form>
        <span class="who" id="operator">{{operator}}</span></header>
        <main>{{#msg}}<div class="msg" id="msg">{{msg}}</div>{{/msg}}{{#error}}<div class="error" id="error">{{error}}</div>{{/error}}
        {{{body}}}</main></body></html>
        """#,
        "overview": #"""
        <h2>Banks</h2>
        {{#banks}}<div class="bank" id="bank-{{code}}">
        <a href="/banks/{{code}}"><b>{{code}} {{name}}</b></a> — link <b>{{link}}</b>, charge <b>{{charge}}</b>,
        open alerts {{openAlerts}}; last hour: approved {{approved}}, held {{held}}, declined {{declined}}
        ({{perSecond}} req/s)<br>{{{chart}}}</div>{{/banks}}
        <h2>Open alerts ({{alertCount}})</h2>
        <table><tr><th>Severity</th><th>Rule</th><th>Subject</th><th>Count</th><th>Last seen</th></tr>
        {{#alerts}}<tr><td class="{{severityClass}}">{{severity}}</td><td>{{rule}}</td><td>{{subject}}</td>
        <td>{{count}}</td><td>{{last}}</td></tr>{{/alerts}}</table><a href="/alerts">All alerts</a>
        """#,
        "alerts": #"""
        <h2>Alerts</h2>
        <form method="get" action="/alerts">state <input type="text" name="state" value="{{filter_state}}" size="8">
        severity <input type="text" name="severity" value="{{filter_severity}}" size="8">
        rule <input type="text" name="rule" value="{{filter_rule}}" size="12">
        bank <input type="text" name="bank" value="{{filter_bank}}" size="4">
        wallet <input type="text" name="wallet" value="{{filter_wallet}}" size="8"> <button>Filter</button></form>
        <table><thead><tr><th>Severity</th><th>Rule</th><th>State</th><th>Subject</th><th>Bank</th><th>Wallet</th>
        <th>Count</th><th>First / last seen</th><th>Assignee</th><th>Detail</th><th>Act</th></tr></thead>
        <tbody id="alert-rows">{{> alert_rows}}</tbody></table>
        <p id="live">live: refreshed every second</p>
        <script>
        (function () {
          var rows = document.getElementById('alert-rows');
          var query = window.location.search;
          function busy() { var a = document.activeElement; return a && a.tagName === 'INPUT' && rows.contains(a); }
          setInterval(function () {
            if (busy()) return;
            fetch('/alerts/rows' + query, {credentials: 'same-origin'})
              .then(function (r) { return r.ok ? r.text() : null; })
              .then(function (html) { if (html !== null && !busy()) rows.innerHTML = html; });
          }, 1000);
        })();
        </script>
        """#,
        "alert_rows": #"""
        {{#alerts}}<tr id="alert-{{id}}" data-rule="{{rule}}"><td class="{{severityClass}}">{{severity}}</td><td>{{rule}}</td>
        <td>{{state}}</td><td>{{subject}}</td><td>{{bank}}</td><td>{{wallet}}</td><td>{{count}}</td>
        <td>{{first}}<br>{{last}}</td><td>{{assignee}}</td><td>{{detail}}{{#hasHolds}}<br>holds: {{holds}}{{/hasHolds}}
        {{#notes}}<br><small>{{at}} {{by}}: {{text}}</small>{{/notes}}</td><td>{{^resolved}}
        {{#open}}<form class="inline" method="post" action="/alerts/{{id}}/ack">\#(ConsolePages.formFields)<button>Ack</button></form>{{/open}}
        <form class="inline" method="post" action="/alerts/{{id}}/resolve">\#(ConsolePages.formFields)
        <input type="text" name="note" placeholder="note (required)" required><button>Resolve</button></form>
        {{/resolved}}</td></tr>{{/alerts}}
        """#,
        "holds": #"""
        <h2>Holds queue</h2>
        <table><tr><th>Charge</th><th>Bank</th><th>Wallet</th><th>Amount</th><th>Age</th><th>Rule</th><th>Act</th></tr>
        {{#holds}}<tr id="hold-{{id}}"><td>{{id}}</td><td>{{bank}}</td><td><a href="/wallets/{{wallet}}">{{wallet}}</a></td>
        <td>{{amount}}{{#fourEyes}} (four eyes){{/fourEyes}}</td><td>{{age}}</td><td>{{rule}}</td><td>
        <form class="inline" method="post" action="/holds/{{id}}/release">\#(ConsolePages.formFields)
        <input type="text" name="reason" placeholder="reason" required><button>Release</button></form>
        <form class="inline" method="post" action="/holds/{{id}}/reject">\#(ConsolePages.formFields)
        <input type="text" name="reason" placeholder="reason" required><button>Reject</button></form></td></tr>{{/holds}}
        {{^holds}}<tr><td colspan="7">No open holds.</td></tr>{{/holds}}</table>
        """#,
        "approvals": #"""
        <h2>Waiting for a second operator</h2>
        <table><tr><th>Approval</th><th>What</th><th>Requested by</th><th>Why</th><th>Expires</th><th>Act</th></tr>
        {{#pending}}<tr id="approval-{{id}}"><td>{{id}}</td><td>{{summary}}</td><td>{{requestedBy}}</td><td>{{reason}}</td>
        <td>{{expires}}</td><td>{{#mine}}your request: another operator approves{{/mine}}{{^mine}}
        <form class="inline" method="post" action="/approvals/{{id}}/approve">\#(ConsolePages.formFields)
        <input type="text" name="reason" placeholder="reason" required><button>Approve</button></form>{{/mine}}
        <form class="inline" method="post" action="/approvals/{{id}}/decline">\#(ConsolePages.formFields)
        <input type="text" name="reason" placeholder="reason" required><button>Decline</button></form></td></tr>{{/pending}}
        {{^pending}}<tr><td colspan="6">Nothing waiting.</td></tr>{{/pending}}</table>
        <h3>Decided</h3><table><tr><th>Approval</th><th>What</th><th>State</th><th>By</th><th>Result</th></tr>
        {{#decided}}<tr><td>{{id}}</td><td>{{summary}}</td><td>{{state}}</td><td>{{decidedBy}}</td><td>{{result}}</td></tr>{{/decided}}</table>
        """#,
        "bank": #"""
        <h2 id="bank-title">{{code}} {{name}}</h2>
        <p>link <b id="link-state">{{link}}</b>, charge <b id="charge-state">{{charge}}</b>; pilot list: {{pilot}}</p>
        {{#proposals}}<div class="error">Proposed: <b>{{proposal}}</b> ({{rule}}, {{severity}}: {{detail}})
        <form class="inline" method="post" action="/alerts/{{id}}/confirm-suspension">\#(ConsolePages.formFields)
        <input type="text" name="reason" placeholder="reason (required)" required><button>Confirm suspension</button></form></div>{{/proposals}}
        <h3>Change state</h3>
        <form method="post" action="/banks/{{code}}/state">\#(ConsolePages.formFields)
        <select name="operation"><option>link</option><option>charge</option></select>
        <select name="state"><option>SUSPENDED</option><option>PENDING</option><option>PILOT</option><option>ENABLED</option></select>
        <input type="text" name="reason" placeholder="reason" required><button>Set</button></form>
        <h3>Profile</h3><table>{{#profile}}<tr><th>{{key}}</th><td>{{value}}</td></tr>{{/profile}}</table>
        <h3>Conformance runs</h3><table><tr><th>Result</th><th>At</th><th>By</th><th>Detail</th></tr>
        {{#runs}}<tr><td>{{passed}}</td><td>{{at}}</td><td>{{by}}</td><td>{{detail}}</td></tr>{{/runs}}</table>
        <h3>History</h3><table><tr><th>At</th><th>Who</th><th>What</th><th>Why</th><th>Detail</th></tr>
        {{#audit}}<tr><td>{{at}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{reason}}</td><td>{{detail}}</td></tr>{{/audit}}</table>
        """#,
        "wallet": #"""
        <h2>Wallet {{id}}{{#test}} (test){{/test}}</h2>
        <table><tr><th>eKYC</th><td>{{ekyc}} {{method}}</td></tr><tr><th>Name</th><td id="wallet-name">{{nameKana}}</td></tr>
        <tr><th>Phone</th><td>{{phone}}</td></tr><tr><th>Balance</th><td id="balance">{{balance}}</td></tr>
        <tr><th>Cap</th><td>{{cap}}</td></tr><tr><th>Charges</th><td id="frozen">{{#frozen}}FROZEN{{/frozen}}{{^frozen}}allowed{{/frozen}}</td></tr>
        <tr><th>Linking</th><td>{{#linkLocked}}LOCKED{{/linkLocked}}{{^linkLocked}}allowed{{/linkLocked}}</td></tr></table>
        <form class="inline" method="post" action="/wallets/{{id}}/{{#frozen}}unfreeze{{/frozen}}{{^frozen}}freeze{{/frozen}}">\#(ConsolePages.formFields)
        <input type="text" name="reason" placeholder="reason" required><button>{{#frozen}}Unfreeze{{/frozen}}{{^frozen}}Freeze{{/frozen}} charges</button></form>
        {{#linkLocked}}<form class="inline" method="post" action="/wallets/{{id}}/unlock">\#(ConsolePages.formFields)
        <input type="text" name="reason" placeholder="reason" required><button>Unlock linking</button></form>{{/linkLocked}}
        <h3>Links</h3><table><tr><th>Link</th><th>Bank</th><th>State</th><th>Linked</th></tr>
        {{#links}}<tr><td>{{id}}</td><td>{{bank}}</td><td>{{active}}</td><td>{{at}}</td></tr>{{/links}}</table>
        <h3>Recent charges</h3><table id="charges"><tr><th>Charge</th><th>Bank</th><th>Amount</th><th>Decision</th><th>Rule</th><th>At</th></tr>
        {{#charges}}<tr><td>{{id}}</td><td>{{bank}}</td><td>{{amount}}</td><td>{{decision}}</td><td>{{rule}}</td><td>{{at}}</td></tr>{{/charges}}</table>
        """#,
    ]
}

/// Each bank's decisions per minute over the last hour as an inline SVG stacked bar chart (server-rendered: no
/// script, no chart library).
enum ConsoleChart {
    static func svg(
        bankCode: String, buckets: [DecisionBucket], nowUnixMs: Int64
    ) -> (svg: String, approved: Int, held: Int, declined: Int) {
        let minutes = 60
        let start = nowUnixMs - Int64(minutes) * 60_000
        var perMinute = [(approved: Int, held: Int, declined: Int)](repeating: (0, 0, 0), count: minutes)
        for bucket in buckets where bucket.startUnixMs >= start {
            let index = min(minutes - 1, Int((bucket.startUnixMs - start) / 60_000))
            perMinute[index].approved += bucket.approved
            perMinute[index].held += bucket.held
            perMinute[index].declined += bucket.declined
        }
        let peak = max(1, perMinute.map { $0.approved + $0.held + $0.declined }.max() ?? 1)
        let width = 600, height = 100, bar = width / minutes
        var shapes = ""
        for (index, minute) in perMinute.enumerated() {
            var y = height
            for (count, color) in [
                (minute.approved, "#2e7d32"), (minute.held, "#ef8f00"), (minute.declined, "#c62828"),
            ]
            where count > 0 {
                let h = max(1, count * height / peak)
                y -= h
                shapes += #"<rect x="\#(index * bar)" y="\#(y)" width="\#(bar - 1)" height="\#(h)" fill="\#(color)"/>"#
            }
        }
        let totals = perMinute.reduce((0, 0, 0)) { ($0.0 + $1.approved, $0.1 + $1.held, $0.2 + $1.declined) }
        let svg = #"""
            <svg class="chart" data-bank="\#(bankCode)" data-decisions="\#(totals.0 + totals.1 + totals.2)" width="\#(width)" height="\#(height + 14)" viewBox="0 0 \#(width) \#(height + 14)" role="img" aria-label="decisions per minute, last hour, bank \#(bankCode)"><rect x="0" y="0" width="\#(width)" height="\#(height)" fill="#fafbfc" stroke="#e3e6ec"/>\#(shapes)<text x="0" y="\#(height + 12)" font-size="10">-60 min</text><text x="\#(width - 24)" y="\#(height + 12)" font-size="10">now</text><text x="\#(width / 2 - 60)" y="\#(height + 12)" font-size="10">peak \#(peak)/min: approved, held, declined</text></svg>
            """#
        return (svg, totals.0, totals.1, totals.2)
    }
}
