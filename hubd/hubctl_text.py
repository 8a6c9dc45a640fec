"""hubctl's words in the hub's language (``hub.language``: ja or en).

Why a table of English templates: hubctl's lines are written in English in the code, where
they are read; ``tr(template, **values)`` looks the template up in ``JA`` when the language
is Japanese. A test reads every ``tr("...")`` in the package and fails on one with no
Japanese, so Japanese output is never half English by omission. Names a technician types or
looks up (sensor ids, alert type codes, config keys, commands) stay as they are.
"""

from __future__ import annotations

import unicodedata

LANGUAGES = ("en", "ja")
_current = ["en"]


def set_language(language: str) -> None:
    _current[0] = language if language in LANGUAGES else "en"


def language() -> str:
    return _current[0]


def tr(template: str, **values: object) -> str:
    """``template`` in the current language, formatted with ``values``."""
    text = JA.get(template, template) if _current[0] == "ja" else template
    return text.format(**values) if values else text


def tr_in(language: str, template: str, **values: object) -> str:
    """``template`` in ``language`` (the daemon says its refusals in the hub's language)."""
    text = JA.get(template, template) if language == "ja" else template
    return text.format(**values) if values else text


def word(value: str) -> str:
    """A state, stage, mode or alert type the daemon reports, as a word of the current language."""
    return WORDS.get(value, value) if _current[0] == "ja" else value


def width(text: str) -> int:
    """Terminal columns: a full-width character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(max(0.0, seconds))
    ja = _current[0] == "ja"
    if s < 60:
        return f"{s}秒" if ja else f"{s} s"
    if s < 3600:
        return f"{s // 60}分" if ja else f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600}時間{s % 3600 // 60:02d}分" if ja else f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400}日{s % 86400 // 3600}時間" if ja else f"{s // 86400} d {s % 86400 // 3600} h"


WORDS = {
    # rhythm drift kinds (hubctl rhythm)
    "activity": "活動量", "sleep": "睡眠", "outings": "外出", "nights": "夜間",
    # monitoring and modes
    "WATCHING": "見守り中", "DEGRADED": "一部機能低下", "AWAY": "外出", "PAUSED": "停止中",
    "watching": "見守り中", "degraded": "一部機能低下", "home": "在宅", "away": "外出", "paused": "停止中",
    # sensor states
    "ok": "正常", "learning": "学習中", "silent": "無反応", "fault": "故障", "unknown": "不明",
    "SILENT": "無反応", "FAULT": "故障",
    # alert stages
    "prealarm": "予備警報", "alarm": "警報", "acked": "応答済", "ended": "終了", "cancelled": "取消",
    "settling": "回復確認中", "pending": "猶予中",
    "PREALARM": "予備警報", "ALARM": "警報", "SETTLING": "回復確認中", "PENDING": "猶予中",
    # alert types
    "inactivity": "無活動", "not_returned": "未帰宅", "stayed_in_place": "在席継続", "sensor_silent": "センサー無反応",
    "sensor_fault": "センサー故障", "uplink_down": "通信障害", "uplink_degraded": "SMS受信障害",
    "monitoring_paused_too_long": "見守り停止継続", "hub_restarted": "再起動", "store_reset": "保存データ初期化",
    "store_replaced": "保存データ交換",
    # detector rules and modes
    "learned": "学習値", "cold_start": "初期値", "safety_net": "安全上限", "fixed": "固定タイマー",
    "remaining": "残り時間", "configured": "設定値",
    # walktest reasons
    "time_limit": "時間切れ", "all_seen": "全て確認", "cancelled_by_technician": "中断",
}

JA = {
    # status
    "monitoring": "見守り", "mode": "モード", "activity": "活動", "limit now": "現在の上限", "held": "在席中",
    "detector": "検知方式", "alerts": "警報", "sensors": "センサー", "modem": "モデム", "outbox": "送信待ち",
    "storage": "保存", "clock": "時計", "restart": "再起動",
    "{mode} by {who}": "{mode}（設定: {who}）",
    "until {when} ({left} left)": "{when}まで（残り{left}）",
    ", {ago} ago": "、{ago}前",
    "; not counting while a sensor is held": "。センサー在席中は計測しません",
    "last {when}{ago}": "最終 {when}{ago}",
    ", {days} days learned": "、学習{days}日",
    " (still learning)": "（学習中）",
    "{n} open": "{n}件発生中", "none open": "なし",
    "{n} configured": "{n}台", ": {counts}": "：{counts}",
    "empty": "なし",
    "FAILING: state is not being saved": "異常：状態が保存されていません",
    "NOT SYNCED (no network or modem time yet)": "未同期（ネットワーク時刻・モデム時刻なし）",
    "outage before it UNKNOWN": "停止時間は不明", " until the clock is set": "（時計設定まで）",
    " (saved on an unset clock)": "（未設定の時計で保存）",
    "never": "なし",
    # modem
    "no status reported": "状態報告なし", "NOT CONNECTED ({why})": "未接続（{why}）", "no modem": "モデムなし",
    "registered": "登録済", "NOT REGISTERED": "未登録", "signal {bars}/4{dbm}": "電波{bars}/4{dbm}",
    "the uplink reports no modem status": "通信部からモデムの状態報告がありません",
    "port": "ポート", "connected": "接続", "yes": "はい", "NO": "いいえ", "network": "ネットワーク",
    "signal": "電波", "model": "機種", "problem": "問題", "last error": "直近のエラー", "(none)": "（なし）",
    "SIM": "SIM",
    # sensors
    "sensors at {when}, outputs {outputs}": "センサー（{when}時点）、出力 {outputs}",
    "last {value} at {when}": "最終 {value}（{when}）",
    # watch, walktest
    "watching sensor events (Ctrl-C to stop)": "センサーの反応を表示中（Ctrl-Cで終了）",
    "{n} events{dropped}": "{n}件{dropped}", ", {n} dropped (too fast)": "、{n}件は表示しきれず",
    "walktest: trigger each sensor ({limit} limit)": "動作確認：各センサーを反応させてください（制限{limit}）",
    " (checked by its reading)": "（計測値で確認）",
    "{sensor} reads {watts} W  SEEN {seen}/{total}": "{sensor} 計測 {watts} W  確認 {seen}/{total}",
    "SEEN {seen}/{total}": "確認 {seen}/{total}", "(not configured)": "（未設定のセンサー）",
    "all {n} sensors seen": "全{n}台を確認しました",
    "seen {seen}, NOT SEEN {missing} ({why}):": "確認{seen}台、未確認{missing}台（{why}）：",
    "walktest stopped: not every sensor was checked": "動作確認を中断：確認していないセンサーがあります",
    # alerts, ack, events, audit, modes
    "no alerts": "警報なし", "acked by {who}": "応答: {who}",
    "pre-alarm {id} cancelled by {who} (as the OK button): nothing goes to the office":
        "予備警報{id}を{who}が取消（OKボタンと同じ）：事務所には送信されません",
    "alert {id} acknowledged by {who}": "警報{id}に{who}が応答しました",
    "no events": "イベントなし", " since {since}": "（{since}以降）",
    "audit log is empty": "監査記録なし",
    "home: monitoring is on": "在宅：見守り中",
    "{mode} until {until}": "{mode}（{until}まで）",
    "({left}), set by {who}": "（残り{left}）、設定: {who}",
    "note: {note}": "注意：{note}",
    # export, test alert
    "export: {n} lines": "書き出し：{n}行",
    "{n} events written to {path}": "{n}件を{path}に書き出しました",
    "test SMS {id} queued to {to}": "試験SMS {id}を{to}宛てに送信待ちにしました",
    "check the phone; hubctl modem shows the outbox": "電話を確認してください。送信待ちは hubctl modem で確認できます",
    "test SMS {id} to {to}: {note}": "試験SMS {id}（{to}宛て）：{note}",
    "not queued": "送信待ちにできませんでした",
    "check the phone and hubctl status": "電話と hubctl status を確認してください",
    # commission state
    "commissioning flat {flat}": "設置確認 {flat}", "  config: {problem}": "  設定：{problem}",
    "to do": "未実施", "FAILED": "失敗", "handed over {at} by {who}": "引き渡し {at}（{who}）",
    "{step}: {result} at {at}": "{step}：{result}（{at}）",
    "buzzer/LED: {pattern} for {seconds} s": "ブザー/LED：{pattern}を{seconds}秒",
    "\ncommission stopped: run `hubctl commission` again to go on from this step":
        "\n設置確認を中断しました。`hubctl commission` をもう一度実行すると、この手順から再開します",
    # the checklist (hubd.commission)
    "commissioning flat {flat}: {n} steps": "設置確認 {flat}：全{n}手順",
    "{label}: done {at}": "{label}：完了 {at}",
    "  FAILED: {note}": "  失敗：{note}", "  what to do: {advice}": "  対処：{advice}",
    "  then run `hubctl commission` again: it goes on from this step":
        "  その後 `hubctl commission` をもう一度実行してください。この手順から再開します",
    "  ok: {note}": "  完了：{note}",
    "the config names this flat, the office's numbers and every sensor": "設定：住戸ID、事務所の番号、全センサーの名称",
    "trigger {what}": "{what}を反応させる",
    "every power sensor reads plausibly": "電力センサーがすべて妥当な値を示す",
    "the resident's OK button": "入居者のOKボタン",
    "the buzzer sounds and the LED blinks": "ブザーが鳴りLEDが点滅する",
    "the modem is registered with a usable signal": "モデムがネットワークに登録され電波が十分",
    "the office receives a test and confirms it by reply": "事務所が試験SMSを受け取り返信で確認する",
    "{n} setting(s) still the example's or missing": "{n}件の設定が例のまま、または未設定",
    "edit /etc/hubd/config.toml, check it with `hubd config check /etc/hubd/config.toml`, then "
    "`sudo systemctl restart hubd`":
        "/etc/hubd/config.toml を編集し `hubd config check /etc/hubd/config.toml` で確認してから "
        "`sudo systemctl restart hubd` を実行してください",
    "flat id, office numbers and sensor labels set": "住戸ID、事務所の番号、センサー名称を確認",
    "  - {problem}": "  - {problem}",
    "  trigger {sensor}: {how} (waiting up to {seconds} s)": "  {sensor}を反応させてください：{how}（最大{seconds}秒待ちます）",
    "walk past it, in its view": "センサーの前を歩く",
    "open it, then close it": "開けてから閉める",
    "open the front door, then close it": "玄関ドアを開けてから閉める",
    "sit or lie on it for a few seconds, then get up": "数秒座るか横になり、立ち上がる",
    "make it report": "反応させる",
    "{sensor} sent nothing in {seconds} s": "{sensor}から{seconds}秒間反応がありません",
    "{sensor} seen at {at}": "{sensor}を確認（{at}）",
    "{sensor} reported empty as it was sat on: it reads the wrong way round":
        "{sensor}は座ったときに「不在」を報告しました：値が逆です",
    "the mat reads occupied while nobody is on it: connect it to its normally-open (NO) contact, not the "
    "normally-closed one, on {where}. `hubctl sensors` shows 0 with nobody on it once it is right.":
        "マットは誰も乗っていないときに「在席」を示しています。{where}で常閉（NC）ではなく常開（NO）の接点に"
        "つないでください。正しくつなぐと、誰も乗っていないとき `hubctl sensors` は0を示します。",
    "check its supply (does its own LED light as you move?), its signal wire on {where}, and that it looks into "
    "the room; a PIR needs up to 60 s after power-on. `hubctl sensors` shows its live level.":
        "電源（動くとセンサー自身のLEDが点くか）、{where}の信号線、部屋の方を向いているかを確認してください。"
        "人感センサーは電源投入後最大60秒かかります。`hubctl sensors` で現在の値を確認できます。",
    "the magnet must pass within about 10 mm of the reed as the door closes; check the wires on {where}. "
    "`hubctl sensors` shows the level change as you move the door.":
        "扉を閉めたとき磁石とリードスイッチの間を約10 mm以内にしてください。{where}の配線を確認してください。"
        "扉を動かすと `hubctl sensors` で値の変化を確認できます。",
    "check the mat's plug and its wires on {where}; under a thick mattress move the pad nearer the sleeper's hips. "
    "`hubctl sensors` shows the level change.":
        "マットのコネクタと{where}の配線を確認してください。厚いマットレスの下では腰の位置に近づけてください。"
        "`hubctl sensors` で値の変化を確認できます。",
    "  press the resident's OK button once (waiting up to {seconds} s)": "  入居者のOKボタンを1回押してください（最大{seconds}秒待ちます）",
    "no press in {seconds} s": "{seconds}秒間押されませんでした",
    "the button joins {where} to GND when pressed: check both wires and the outputs.button_pin setting":
        "ボタンは押すと{where}をGNDにつなぎます。2本の配線と outputs.button_pin の設定を確認してください",
    "pressed at {at}": "押下を確認（{at}）",
    "  the hub beeps and blinks for 5 s: did you hear the buzzer AND see the LED? [y/n] ":
        "  5秒間ブザーとLEDが動作します。ブザーが聞こえ、LEDが見えましたか？ [y/n] ",
    "buzzer heard, LED seen": "ブザーとLEDを確認",
    "the technician did not hear or see both": "ブザーまたはLEDを確認できませんでした",
    "check the buzzer's and the LED's wires on outputs.buzzer_pin / outputs.led_pin (+ to the GPIO, - to GND; an "
    "active buzzer beeps on its own when given 3.3 V)":
        "outputs.buzzer_pin / outputs.led_pin のブザーとLEDの配線を確認してください（+をGPIO、-をGND。"
        "アクティブブザーは3.3 Vで単独で鳴ります）",
    "  {sensor}: {watts} W": "  {sensor}：{watts} W",
    "no reading": "計測値なし",
    "a chip that does not answer: check SDA/SCL/3.3 V/GND and its address (`i2cdetect -y 1` lists it); a reading "
    "far off: check the sensor's shunt_ohms and max_current_a in the config":
        "応答しないチップ：SDA/SCL/3.3 V/GNDとアドレスを確認してください（`i2cdetect -y 1` に表示されます）。"
        "値が大きく外れる場合：設定の shunt_ohms と max_current_a を確認してください",
    "{n} power sensor(s) read plausibly": "電力センサー{n}台が妥当な値",
    "registered, signal {bars}/4": "登録済、電波{bars}/4",
    "no modem status yet": "モデムの状態報告がまだありません", "not connected": "未接続",
    "not registered": "未登録", "no usable signal": "電波が不十分",
    "check the SIM (inserted, PIN set as modem.sim_pin, not expired), the antenna, and `hubctl modem`; in a weak "
    "spot move the antenna to a window":
        "SIM（挿入、modem.sim_pin のPIN、有効期限）、アンテナ、`hubctl modem` を確認してください。"
        "電波が弱い場所ではアンテナを窓際に移してください",
    "  sent installation test {id} to {numbers}: ask the office to reply  OK {id}":
        "  設置試験{id}を{numbers}に送信しました。事務所に  OK {id}  と返信するよう依頼してください",
    "  (waiting up to {span} for the reply)": "  （返信を最大{span}待ちます）",
    "{id} confirmed by {who}": "{id}を{who}が確認",
    "no OK {id} from {numbers} in {span}": "{numbers}から{span}以内に OK {id} の返信がありません",
    "phone the office: if the text did not arrive, check `hubctl modem` (signal, outbox) and the number in "
    "modem.recipients; if it did, the reply must come from that number, half-width: OK {id}":
        "事務所に電話してください。SMSが届いていなければ `hubctl modem`（電波、送信待ち）と modem.recipients の"
        "番号を確認してください。届いていれば、その番号から半角で OK {id} と返信してもらってください",
    "every step passed: the handover": "全手順完了：引き渡し",
    "  have you told the resident {what}? [y/n] ": "  入居者に{what}を説明しましたか？ [y/n] ",
    "what the hub watches (movement, doors, the bed and appliances; no camera, no microphone)":
        "見守りの内容（動き、扉、ベッド、家電。カメラ・マイクなし）",
    "that only alerts and status texts leave the flat, to the housing office":
        "外部に送られるのは警報と状態のSMSだけで、送り先は住宅事務所であること",
    "that the OK button stops a warning beep before the office is texted":
        "事務所への通知前の警告音はOKボタンで止められること",
    "to tell the office before going away, so the hub is set to 'away'":
        "外出・旅行の前に事務所に連絡し「外出」にしてもらうこと",
    "whom to call about the hub (the office's number)": "見守り機器についての連絡先（事務所の番号）",
    "  not handed over: tell the resident about {items}, then run it again":
        "  引き渡し未完了：{items}を入居者に説明してから、もう一度実行してください",
    "  your name (for the record): ": "  担当者名（記録用）：",
    "handover of flat {flat} at {at} by {who}": "{flat}の引き渡し {at}（担当 {who}）",
    "  office test: {note}": "  事務所の確認：{note}", "  resident told: {items}": "  入居者への説明：{items}",
    # report
    "report of {days} days ({events} events, {alerts} alerts) written to {out}; it stays on this machine unless "
    "you copy it": "{days}日分（イベント{events}件、警報{alerts}件）の報告を{out}に書き出しました。"
                   "コピーしない限りこの機器から出ません",
    "rhythm: IS {IS} (days alike, 0-1)   IV {IV} (restless, 0-2)   RA {RA} (day vs night, 0-1)   quietest 5 h from "
    "{l5}   busiest 10 h from {m10}":
        "生活リズム：IS {IS}（日ごとの一致 0-1）  IV {IV}（細切れ度 0-2）  RA {RA}（昼夜の差 0-1）  "
        "最も静かな5時間 {l5}から  最も活発な10時間 {m10}から",
    "drift (last week against the week two weeks before): {drift}": "変化（直近1週間と2週間前の1週間の比較）：{drift}",
    "none": "なし", "drift: needs 21 whole days": "変化：21日分のデータが必要です",
    "alerts: {alerts}": "警報：{alerts}",
    # errors
    "hubd is not running: no control socket at {path}": "hubd が動いていません：{path} に制御ソケットがありません",
    "start it with: sudo systemctl start hubd (or point --socket/--config elsewhere)":
        "起動：sudo systemctl start hubd（または --socket/--config で別の場所を指定）",
    "hubd is not running: nothing listens on {path}": "hubd が動いていません：{path} で待ち受けていません",
    "see why with: systemctl status hubd; journalctl -u hubd -e": "原因の確認：systemctl status hubd; journalctl -u hubd -e",
    "permission denied on {path}": "{path} へのアクセス権がありません",
    "run as root, or join group {group}: sudo usermod -aG {group} $USER, log in again":
        "root で実行するか、{group} グループに参加してください：sudo usermod -aG {group} $USER の後、再ログイン",
    "hubd did not answer on {path} in time": "hubd が {path} で時間内に応答しません",
    "it may be hung: systemctl status hubd; journalctl -u hubd -e":
        "停止している可能性があります：systemctl status hubd; journalctl -u hubd -e",
    "lost the connection to hubd on {path}: {why}": "{path} の hubd との接続が切れました：{why}",
    "see: systemctl status hubd": "確認：systemctl status hubd",
    "hubd closed the connection on {path} without answering": "hubd が {path} で応答せずに接続を切りました",
    "see: journalctl -u hubd -e": "確認：journalctl -u hubd -e",
    "config error: {error}": "設定エラー：{error}",
    # hubctl profile (hubd.detector.profile, drawn again in hubctl's language)
    "alarm after h of silence  (# learned, c cold start, S safety net)": "警報までの無活動時間（# 学習値、c 初期値、S 安全上限）",
    "actogram: no activity recorded yet": "活動記録：まだありません",
    "activity by day ( . 1  : 2-3  + 4-9  # 10+ events per slot)": "日ごとの活動（ . 1  : 2-3  + 4-9  # 10以上 件/枠）",
    "learned days: {n}": "学習日数：{n}", "  (cold start: fixed thresholds until learned)": "  （初期値：学習まで固定の上限）",
    "now {hhmm}: alarm after {hours} h of silence ({rule})": "現在 {hhmm}：無活動{hours}時間で警報（{rule}）",
    "learned": "学習値", "cold start": "初期値", "safety net": "安全上限",
    "Mon": "月", "Tue": "火", "Wed": "水", "Thu": "木", "Fri": "金", "Sat": "土", "Sun": "日",
    "appliances (use counts as presence while its draw varies):": "家電（消費電力が変動する間は在宅の印とみなします）：",
    "cycles by itself: never counts": "自動運転：在宅の印にしません",
    "counts, alone, for up to {hours} h": "単独で最大{hours}時間まで在宅の印",
    " (not learned)": "（未学習）",
    "  {sensor} standby {standby} W, in use {use}; {worth}": "  {sensor} 待機 {standby} W、使用時 {use}；{worth}",
    # hubctl report: the picture (drawn in Japanese where a Japanese font is installed) and the page
    "hubd {flat}: {first} to {last} ({days} days; made {made}, kept in the flat)":
        "hubd {flat}：{first}〜{last}（{days}日間。{made}作成、住戸内で保管）",
    "time of day (h)": "時刻（時）",
    "activity, one row a day (darker: more); alerts: red resident, orange system":
        "活動（1行1日、濃いほど多い）。警報：赤 入居者、橙 機器",
    "inactivity limit": "無活動の上限", "alarm after a silence begun here": "ここで始まった無活動の警報まで",
    "hours of silence": "無活動時間（時間）",
    "when the hub would worry ({days} days learned;\na bed or seat in use has its own, longer limit)":
        "見守りが心配する時間（学習{days}日。\nベッド・座面の使用中は別の長い上限）",
    "no learned rhythm\n(fixed timer)": "学習した生活リズムなし\n（固定タイマー）",
    "7-day mean": "7日平均", "active min/day": "活動分/日", "how active each day was (today: so far)": "日ごとの活動量（今日は途中まで）",
    "hubd {flat} report": "hubd {flat} 報告",
    "Made in the flat on {made}. Nothing in it has been sent anywhere; keep it or delete it with the resident.":
        "{made}に住戸内で作成。どこにも送信されていません。入居者と相談して保管または削除してください。",
    "the month": "この1か月", "Alerts": "警報", "raised": "発生", "type": "種類", "sensor": "センサー", "stage": "段階",
    # hubctl rhythm and hubctl consent
    "{kind} {before} -> {after} ({unit}) on {date}": "{kind} {before}→{after}（{unit}）{date}",
    "drift reported by the hub (kept in the flat unless consented): {drift}":
        "ハブが報告したリズムの変化（同意がなければ住戸内にとどまります）：{drift}",
    "no day recorded yet: a record is made at the end of each local day": "記録された日はまだありません：毎日の終わりに記録します",
    "date": "日付", "active": "活動", "night": "夜間", "out": "外出分", "outings": "外出", "sleep": "睡眠",
    "* not watched the whole day (a restart, or the first day)": "* 終日は見ていない日（再起動、または初日）",
    "active minutes a day:": "1日の活動分：",
    "no drift reported": "リズムの変化の報告なし",
    "sent to {n} consenting": "同意済みの{n}件に送信",
    "kept in the flat": "住戸内で保管",
    "drift {date}: {kind} {before} -> {after} ({unit}); {where}": "変化 {date}：{kind} {before}→{after}（{unit}）。{where}",
    "active minutes per hour at home": "在宅1時間あたりの活動分", "sleep midpoint, clock hours": "睡眠の中央時刻（時）",
    "days with an outing a week": "週に外出した日数", "active minutes 00:00-05:00 a night": "0〜5時の活動分/夜",
    "consents in force: {n}": "有効な同意：{n}件",
    "no consent recorded: rhythm reports stay in the flat": "同意の記録なし：リズムの報告は住戸内にとどまります",
    "revoked {at} by {by}": "{at}に{by}が撤回",
    "in force": "有効",
    "{id}: {number} {name} may receive {what}; given {at}, recorded by {by}; {state}":
        "{id}：{number} {name} は {what} を受け取れます。{at}同意、記録者 {by}。{state}",
    "consent: {to} is not a phone number: {why}": "consent：{to} は電話番号ではありません：{why}",
    # the daemon's refusals (tr_in, in the hub's language)
    "user {user} (uid {uid}) may not control this hub: run as root or join group {group}":
        "ユーザー {user}（uid {uid}）はこのハブを操作できません：root で実行するか {group} グループに参加してください",
    "no profile: the {detector} detector (detector.mode = {mode}) has no learned rhythm to show":
        "生活リズムがありません：{detector} 検知方式（detector.mode = {mode}）は学習しません",
    "test-alert: {to} is not a phone number: {why}": "test-alert：{to} は電話番号ではありません：{why}",
    "no sensors are configured: nothing to walk-test": "センサーが設定されていないため、動作確認できません",
    "the checklist cannot be read from the store: {why}": "設置確認の記録を読めません：{why}",
    "not saved, the store refuses writes: {why}": "保存できません（書き込み不可）：{why}",
    "{step} is not on this flat's checklist ({names})": "{step} はこの住戸の確認手順にありません（{names}）",
    "the outputs could not be driven: {why}": "ブザー/LEDを動かせません：{why}",
    "not every step is done: {missing} (run hubctl commission)": "未完了の手順があります：{missing}（hubctl commission を実行してください）",
    "the resident has not been told: {items}": "入居者に未説明の項目があります：{items}",
}
