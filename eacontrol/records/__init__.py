"""Session records: the SQLite store, reports and exports (``docs/records.md``).

::

    store = RecordStore.open()                      # $EACONTROL_DB, else the XDG data dir
    session_id = store.begin_session(meta)          # before the first START
    store.record_event(session_id, EventRecord(...))  # committed at once
    store.end_session(session_id, Outcome.COMPLETED, ended_at)
    print(render_markdown(build_report(store, session_id)))
    frame = to_pandas(store, table="samples")       # the extra "data": pandas
"""

from eacontrol.errors import UnknownSession
from eacontrol.records.alarm import ALARM_KIND, INTRUSION_KIND, alarm_text
from eacontrol.records.bids import (
    BIDS_COLUMNS,
    TRIAL_TYPES,
    bids_events,
    events_sidecar,
    write_bids_events,
)
from eacontrol.records.clinical import (
    RESPONSE_WORDS,
    Annotation,
    AnnotationKind,
    ClinicalDetails,
    Response,
    Severity,
    new_annotation,
)
from eacontrol.records.dataset import DATASET_FORMATS, export_dataset
from eacontrol.records.delivered import ChannelDelivery, FrequencyShare
from eacontrol.records.export import (
    COLUMN_KINDS,
    COLUMNS,
    EVENT_COLUMNS,
    EXPORT_FORMAT,
    EXPORT_VERSION,
    SAMPLE_COLUMNS,
    SESSION_COLUMNS,
    TABLES,
    TOTALS_COLUMNS,
    export_events_csv,
    export_samples_csv,
    export_session_json,
    export_totals_csv,
    session_export,
)
from eacontrol.records.frames import DTYPES, to_pandas
from eacontrol.records.html import render_html
from eacontrol.records.markdown import render_markdown
from eacontrol.records.model import (
    INTERRUPTED,
    ChannelTotals,
    DoseReading,
    EventRecord,
    Outcome,
    Sample,
    SampleGap,
    SessionMeta,
    SessionSummary,
    StepRecord,
    charge_imbalance_pct,
)
from eacontrol.records.owner import ProcessOwner
from eacontrol.records.paths import DB_ENV_VAR, DB_FILE_NAME, default_db_path, resolve_db_path
from eacontrol.records.prescription import (
    NeedleRecord,
    PrescribedChannel,
    PrescribedStep,
    Prescription,
    is_titration,
    parse_prescription,
)
from eacontrol.records.report import (
    REPORT_VERSION,
    ROUTINE_EVENT_KINDS,
    Report,
    build_report,
    render_json,
)
from eacontrol.records.schema import SCHEMA_VERSION
from eacontrol.records.simulated import is_simulator
from eacontrol.records.store import DEFAULT_BUSY_TIMEOUT_s, RecordStore
from eacontrol.records.study import Study

__all__ = [
    "ALARM_KIND",
    "BIDS_COLUMNS",
    "COLUMNS",
    "COLUMN_KINDS",
    "DATASET_FORMATS",
    "DB_ENV_VAR",
    "DB_FILE_NAME",
    "DTYPES",
    "EVENT_COLUMNS",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "INTERRUPTED",
    "INTRUSION_KIND",
    "REPORT_VERSION",
    "RESPONSE_WORDS",
    "ROUTINE_EVENT_KINDS",
    "SAMPLE_COLUMNS",
    "SCHEMA_VERSION",
    "SESSION_COLUMNS",
    "TABLES",
    "TOTALS_COLUMNS",
    "TRIAL_TYPES",
    "Annotation",
    "AnnotationKind",
    "ChannelDelivery",
    "ChannelTotals",
    "ClinicalDetails",
    "DEFAULT_BUSY_TIMEOUT_s",
    "DoseReading",
    "EventRecord",
    "FrequencyShare",
    "NeedleRecord",
    "Outcome",
    "PrescribedChannel",
    "PrescribedStep",
    "Prescription",
    "ProcessOwner",
    "RecordStore",
    "Report",
    "Response",
    "Sample",
    "SampleGap",
    "SessionMeta",
    "SessionSummary",
    "Severity",
    "StepRecord",
    "Study",
    "UnknownSession",
    "alarm_text",
    "bids_events",
    "build_report",
    "charge_imbalance_pct",
    "default_db_path",
    "events_sidecar",
    "export_dataset",
    "export_events_csv",
    "export_samples_csv",
    "export_session_json",
    "export_totals_csv",
    "is_simulator",
    "is_titration",
    "new_annotation",
    "parse_prescription",
    "render_html",
    "render_json",
    "render_markdown",
    "resolve_db_path",
    "session_export",
    "to_pandas",
    "write_bids_events",
]
