-- The schema of rucio-tornado 0.1.0 (commit 6432fae), as pg_dump --schema-only printed it.
CREATE TABLE public.account (
    account character varying(25) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    account_type character varying(10) NOT NULL,
    status character varying(10) NOT NULL,
    email character varying(255),
    suspended_at timestamp without time zone,
    deleted_at timestamp without time zone
);
CREATE TABLE public.account_attribute (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    account character varying(25) NOT NULL,
    key character varying(255) NOT NULL,
    value text
);
CREATE TABLE public.account_global_limit (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    account character varying(25) NOT NULL,
    rse_expression character varying(3000) NOT NULL,
    bytes bigint NOT NULL
);
CREATE TABLE public.account_limit (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    account character varying(25) NOT NULL,
    rse_id character varying(32) NOT NULL,
    bytes bigint NOT NULL
);
CREATE TABLE public.account_usage (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    account character varying(25) NOT NULL,
    rse_id character varying(32) NOT NULL,
    files bigint NOT NULL,
    bytes bigint NOT NULL
);
CREATE TABLE public.account_usage_history (
    id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    account character varying(25) NOT NULL,
    rse_id character varying(32) NOT NULL,
    files bigint NOT NULL,
    bytes bigint NOT NULL
);
CREATE SEQUENCE public.account_usage_history_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.account_usage_history_id_seq OWNED BY public.account_usage_history.id;
CREATE TABLE public.bad_pfn (
    id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    path character varying(2048) NOT NULL,
    state character varying(24) NOT NULL,
    reason text,
    account character varying(25),
    expires_at timestamp without time zone
);
CREATE SEQUENCE public.bad_pfn_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.bad_pfn_id_seq OWNED BY public.bad_pfn.id;
CREATE TABLE public.bad_replica (
    id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    rse_id character varying(32) NOT NULL,
    reason text,
    state character varying(24) NOT NULL,
    account character varying(25),
    bytes bigint,
    expires_at timestamp without time zone
);
CREATE SEQUENCE public.bad_replica_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.bad_replica_id_seq OWNED BY public.bad_replica.id;
CREATE TABLE public.collection_replica (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    did_type character varying(10) NOT NULL,
    rse_id character varying(32) NOT NULL,
    bytes bigint NOT NULL,
    length bigint NOT NULL,
    available_bytes bigint NOT NULL,
    available_replicas_cnt bigint NOT NULL,
    state character varying(24) NOT NULL,
    accessed_at timestamp without time zone
);
CREATE TABLE public.content (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    child_scope character varying(25) NOT NULL,
    child_name character varying(250) NOT NULL,
    did_type character varying(10) NOT NULL,
    child_type character varying(10) NOT NULL,
    bytes bigint,
    adler32 character varying(8),
    md5 character varying(32),
    guid character varying(36),
    events bigint,
    rule_evaluation boolean
);
CREATE TABLE public.content_history (
    id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    child_scope character varying(25) NOT NULL,
    child_name character varying(250) NOT NULL,
    did_type character varying(10) NOT NULL,
    child_type character varying(10) NOT NULL,
    bytes bigint,
    adler32 character varying(8),
    md5 character varying(32),
    deleted_at timestamp without time zone
);
CREATE SEQUENCE public.content_history_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.content_history_id_seq OWNED BY public.content_history.id;
CREATE TABLE public.dataset_lock (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rule_id character varying(32) NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    rse_id character varying(32) NOT NULL,
    account character varying(25) NOT NULL,
    state character varying(12) NOT NULL,
    length bigint,
    bytes bigint
);
CREATE TABLE public.did (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    did_type character varying(10) NOT NULL,
    account character varying(25) NOT NULL,
    is_open boolean,
    monotonic boolean NOT NULL,
    hidden boolean NOT NULL,
    obsolete boolean NOT NULL,
    complete boolean,
    is_new boolean NOT NULL,
    availability character varying(10) NOT NULL,
    suppressed boolean NOT NULL,
    bytes bigint,
    length bigint,
    md5 character varying(32),
    adler32 character varying(8),
    expired_at timestamp without time zone,
    purge_replicas boolean NOT NULL,
    deleted_at timestamp without time zone,
    events bigint,
    guid character varying(36),
    project character varying(50),
    datatype character varying(50),
    run_number integer,
    stream_name character varying(70),
    prod_step character varying(50),
    version character varying(50),
    campaign character varying(50),
    task_id integer,
    panda_id integer,
    lumiblocknr integer,
    provenance character varying(2),
    phys_group character varying(25),
    transient boolean NOT NULL,
    accessed_at timestamp without time zone,
    closed_at timestamp without time zone,
    eol_at timestamp without time zone,
    is_archive boolean,
    constituent boolean,
    access_cnt integer
);
CREATE TABLE public.did_meta (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    key character varying(255) NOT NULL,
    value text,
    number double precision
);
CREATE TABLE public.identity (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    identity character varying(2048) NOT NULL,
    identity_type character varying(10) NOT NULL,
    password_hash character varying(512),
    email character varying(255),
    deleted boolean NOT NULL
);
CREATE TABLE public.identity_account (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    identity character varying(2048) NOT NULL,
    identity_type character varying(10) NOT NULL,
    account character varying(25) NOT NULL,
    is_default boolean NOT NULL
);
CREATE TABLE public.meta_key (
    key character varying(255) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    key_type character varying(10) NOT NULL,
    value_type character varying(255),
    value_regexp character varying(255),
    default_value text
);
CREATE TABLE public.meta_value (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    key character varying(255) NOT NULL,
    value character varying(255) NOT NULL
);
CREATE TABLE public.replica (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rse_id character varying(32) NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    bytes bigint NOT NULL,
    md5 character varying(32),
    adler32 character varying(8),
    path character varying(1024),
    state character varying(24) NOT NULL,
    lock_cnt integer NOT NULL,
    tombstone timestamp without time zone,
    accessed_at timestamp without time zone
);
CREATE TABLE public.replica_lock (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rule_id character varying(32) NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    rse_id character varying(32) NOT NULL,
    account character varying(25) NOT NULL,
    bytes bigint,
    state character varying(12) NOT NULL
);
CREATE TABLE public.rse (
    id character varying(32) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rse character varying(255) NOT NULL,
    vo character varying(3) NOT NULL,
    rse_type character varying(4) NOT NULL,
    deterministic boolean NOT NULL,
    volatile boolean NOT NULL,
    staging_area boolean NOT NULL,
    city character varying(255),
    region_code character varying(2),
    country_name character varying(255),
    continent character varying(2),
    time_zone character varying(255),
    "ISP" character varying(255),
    "ASN" character varying(255),
    longitude real,
    latitude real,
    availability_read boolean NOT NULL,
    availability_write boolean NOT NULL,
    availability_delete boolean NOT NULL,
    qos_class character varying(64),
    lfn2pfn_algorithm character varying(64) NOT NULL,
    verify_checksum boolean NOT NULL,
    deleted boolean NOT NULL,
    deleted_at timestamp without time zone
);
CREATE TABLE public.rse_attribute (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rse_id character varying(32) NOT NULL,
    key character varying(255) NOT NULL,
    value text
);
CREATE TABLE public.rse_distance (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    src_rse_id character varying(32) NOT NULL,
    dest_rse_id character varying(32) NOT NULL,
    distance integer
);
CREATE TABLE public.rse_limit (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rse_id character varying(32) NOT NULL,
    name character varying(255) NOT NULL,
    value bigint NOT NULL
);
CREATE TABLE public.rse_protocol (
    id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rse_id character varying(32) NOT NULL,
    scheme character varying(255) NOT NULL,
    hostname character varying(255) NOT NULL,
    port integer NOT NULL,
    prefix character varying(1024),
    impl character varying(255) NOT NULL,
    read_lan integer NOT NULL,
    write_lan integer NOT NULL,
    delete_lan integer NOT NULL,
    read_wan integer NOT NULL,
    write_wan integer NOT NULL,
    delete_wan integer NOT NULL,
    third_party_copy_read integer NOT NULL,
    third_party_copy_write integer NOT NULL,
    extended_attributes text
);
CREATE SEQUENCE public.rse_protocol_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.rse_protocol_id_seq OWNED BY public.rse_protocol.id;
CREATE TABLE public.rse_usage (
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rse_id character varying(32) NOT NULL,
    source character varying(255) NOT NULL,
    used bigint,
    free bigint,
    files bigint
);
CREATE TABLE public.rse_usage_history (
    id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rse_id character varying(32) NOT NULL,
    source character varying(255) NOT NULL,
    used bigint,
    free bigint,
    files bigint
);
CREATE SEQUENCE public.rse_usage_history_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.rse_usage_history_id_seq OWNED BY public.rse_usage_history.id;
CREATE TABLE public.rule (
    id character varying(32) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    subscription_id character varying(32),
    account character varying(25) NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    did_type character varying(10) NOT NULL,
    state character varying(20) NOT NULL,
    error character varying(255),
    rse_expression character varying(3000) NOT NULL,
    copies integer NOT NULL,
    expires_at timestamp without time zone,
    weight character varying(255),
    locked boolean NOT NULL,
    locks_ok_cnt bigint NOT NULL,
    locks_replicating_cnt bigint NOT NULL,
    locks_stuck_cnt bigint NOT NULL,
    source_replica_expression character varying(255),
    activity character varying(50) NOT NULL,
    "grouping" character varying(10) NOT NULL,
    notification character varying(10) NOT NULL,
    stuck_at timestamp without time zone,
    purge_replicas boolean NOT NULL,
    ignore_availability boolean NOT NULL,
    ignore_account_limit boolean NOT NULL,
    priority integer NOT NULL,
    comments character varying(255),
    child_rule_id character varying(32),
    eol_at timestamp without time zone,
    split_container boolean NOT NULL,
    meta text,
    deleted_at timestamp without time zone
);
CREATE TABLE public.rule_history (
    id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rule_id character varying(32) NOT NULL,
    account character varying(25) NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    did_type character varying(10) NOT NULL,
    state character varying(20) NOT NULL,
    rse_expression character varying(3000) NOT NULL,
    copies integer NOT NULL,
    locks_ok_cnt bigint NOT NULL,
    locks_replicating_cnt bigint NOT NULL,
    locks_stuck_cnt bigint NOT NULL,
    expires_at timestamp without time zone,
    deleted_at timestamp without time zone
);
CREATE SEQUENCE public.rule_history_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.rule_history_id_seq OWNED BY public.rule_history.id;
CREATE TABLE public.scope (
    scope character varying(25) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    account character varying(25) NOT NULL,
    is_default boolean NOT NULL,
    status character varying(10) NOT NULL,
    closed_at timestamp without time zone,
    deleted_at timestamp without time zone
);
CREATE TABLE public.subscription (
    id character varying(32) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    name character varying(64) NOT NULL,
    account character varying(25) NOT NULL,
    filter text NOT NULL,
    replication_rules text NOT NULL,
    policyid integer NOT NULL,
    state character varying(12) NOT NULL,
    last_processed timestamp without time zone,
    lifetime timestamp without time zone,
    comments character varying(4000),
    retroactive boolean NOT NULL,
    expired_at timestamp without time zone
);
CREATE TABLE public.transfer_request (
    id character varying(32) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    rule_id character varying(32) NOT NULL,
    scope character varying(25) NOT NULL,
    name character varying(250) NOT NULL,
    dest_rse_id character varying(32) NOT NULL,
    source_replica_expression character varying(255),
    activity character varying(50),
    bytes bigint,
    state character varying(12) NOT NULL
);
ALTER TABLE ONLY public.account_usage_history ALTER COLUMN id SET DEFAULT nextval('public.account_usage_history_id_seq'::regclass);
ALTER TABLE ONLY public.bad_pfn ALTER COLUMN id SET DEFAULT nextval('public.bad_pfn_id_seq'::regclass);
ALTER TABLE ONLY public.bad_replica ALTER COLUMN id SET DEFAULT nextval('public.bad_replica_id_seq'::regclass);
ALTER TABLE ONLY public.content_history ALTER COLUMN id SET DEFAULT nextval('public.content_history_id_seq'::regclass);
ALTER TABLE ONLY public.rse_protocol ALTER COLUMN id SET DEFAULT nextval('public.rse_protocol_id_seq'::regclass);
ALTER TABLE ONLY public.rse_usage_history ALTER COLUMN id SET DEFAULT nextval('public.rse_usage_history_id_seq'::regclass);
ALTER TABLE ONLY public.rule_history ALTER COLUMN id SET DEFAULT nextval('public.rule_history_id_seq'::regclass);
ALTER TABLE ONLY public.account_attribute
    ADD CONSTRAINT account_attribute_pkey PRIMARY KEY (account, key);
ALTER TABLE ONLY public.account_global_limit
    ADD CONSTRAINT account_global_limit_pkey PRIMARY KEY (account, rse_expression);
ALTER TABLE ONLY public.account_limit
    ADD CONSTRAINT account_limit_pkey PRIMARY KEY (account, rse_id);
ALTER TABLE ONLY public.account
    ADD CONSTRAINT account_pkey PRIMARY KEY (account);
ALTER TABLE ONLY public.account_usage_history
    ADD CONSTRAINT account_usage_history_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.account_usage
    ADD CONSTRAINT account_usage_pkey PRIMARY KEY (account, rse_id);
ALTER TABLE ONLY public.bad_pfn
    ADD CONSTRAINT bad_pfn_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.bad_replica
    ADD CONSTRAINT bad_replica_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.collection_replica
    ADD CONSTRAINT collection_replica_pkey PRIMARY KEY (scope, name, rse_id);
ALTER TABLE ONLY public.content_history
    ADD CONSTRAINT content_history_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.content
    ADD CONSTRAINT content_pkey PRIMARY KEY (scope, name, child_scope, child_name);
ALTER TABLE ONLY public.dataset_lock
    ADD CONSTRAINT dataset_lock_pkey PRIMARY KEY (rule_id, scope, name, rse_id);
ALTER TABLE ONLY public.did_meta
    ADD CONSTRAINT did_meta_pkey PRIMARY KEY (scope, name, key);
ALTER TABLE ONLY public.did
    ADD CONSTRAINT did_pkey PRIMARY KEY (scope, name);
ALTER TABLE ONLY public.identity_account
    ADD CONSTRAINT identity_account_pkey PRIMARY KEY (identity, identity_type, account);
ALTER TABLE ONLY public.identity
    ADD CONSTRAINT identity_pkey PRIMARY KEY (identity, identity_type);
ALTER TABLE ONLY public.meta_key
    ADD CONSTRAINT meta_key_pkey PRIMARY KEY (key);
ALTER TABLE ONLY public.meta_value
    ADD CONSTRAINT meta_value_pkey PRIMARY KEY (key, value);
ALTER TABLE ONLY public.replica_lock
    ADD CONSTRAINT replica_lock_pkey PRIMARY KEY (rule_id, scope, name, rse_id);
ALTER TABLE ONLY public.replica
    ADD CONSTRAINT replica_pkey PRIMARY KEY (scope, name, rse_id);
ALTER TABLE ONLY public.rse_attribute
    ADD CONSTRAINT rse_attribute_pkey PRIMARY KEY (rse_id, key);
ALTER TABLE ONLY public.rse_distance
    ADD CONSTRAINT rse_distance_pkey PRIMARY KEY (src_rse_id, dest_rse_id);
ALTER TABLE ONLY public.rse_limit
    ADD CONSTRAINT rse_limit_pkey PRIMARY KEY (rse_id, name);
ALTER TABLE ONLY public.rse
    ADD CONSTRAINT rse_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.rse_protocol
    ADD CONSTRAINT rse_protocol_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.rse_usage_history
    ADD CONSTRAINT rse_usage_history_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.rse_usage
    ADD CONSTRAINT rse_usage_pkey PRIMARY KEY (rse_id, source);
ALTER TABLE ONLY public.rule_history
    ADD CONSTRAINT rule_history_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.rule
    ADD CONSTRAINT rule_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.scope
    ADD CONSTRAINT scope_pkey PRIMARY KEY (scope);
ALTER TABLE ONLY public.subscription
    ADD CONSTRAINT subscription_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.transfer_request
    ADD CONSTRAINT transfer_request_pkey PRIMARY KEY (id);
CREATE INDEX account_usage_history_account_rse_id_updated_at ON public.account_usage_history USING btree (account, rse_id, updated_at);
CREATE INDEX account_usage_rse_id ON public.account_usage USING btree (rse_id);
CREATE INDEX bad_replica_scope_name_rse_id ON public.bad_replica USING btree (scope, name, rse_id);
CREATE INDEX collection_replica_rse_id ON public.collection_replica USING btree (rse_id);
CREATE INDEX content_child_scope_child_name ON public.content USING btree (child_scope, child_name);
CREATE INDEX content_history_scope_name ON public.content_history USING btree (scope, name);
CREATE INDEX dataset_lock_rse_id ON public.dataset_lock USING btree (rse_id);
CREATE INDEX dataset_lock_scope_name ON public.dataset_lock USING btree (scope, name);
CREATE INDEX did_guid ON public.did USING btree (guid);
CREATE INDEX did_is_new_did_type ON public.did USING btree (is_new, did_type);
CREATE INDEX did_meta_key_number ON public.did_meta USING btree (key, number);
CREATE INDEX did_meta_key_value ON public.did_meta USING btree (key, value);
CREATE INDEX did_scope_did_type_name ON public.did USING btree (scope, did_type, name);
CREATE INDEX identity_account_account ON public.identity_account USING btree (account);
CREATE INDEX replica_lock_rse_id_state ON public.replica_lock USING btree (rse_id, state);
CREATE INDEX replica_lock_scope_name_rse_id ON public.replica_lock USING btree (scope, name, rse_id);
CREATE INDEX replica_rse_id_scope_name ON public.replica USING btree (rse_id, scope, name);
CREATE INDEX replica_tombstone ON public.replica USING btree (tombstone);
CREATE INDEX rse_attribute_key ON public.rse_attribute USING btree (key);
CREATE INDEX rse_distance_dest_rse_id ON public.rse_distance USING btree (dest_rse_id);
CREATE UNIQUE INDEX rse_live_name ON public.rse USING btree (rse) WHERE (deleted = false);
CREATE INDEX rse_protocol_rse_id ON public.rse_protocol USING btree (rse_id);
CREATE UNIQUE INDEX rse_protocol_rse_id_scheme_hostname_port ON public.rse_protocol USING btree (rse_id, scheme, hostname, port);
CREATE INDEX rse_rse ON public.rse USING btree (rse);
CREATE INDEX rse_usage_history_rse_id_source_updated_at ON public.rse_usage_history USING btree (rse_id, source, updated_at);
CREATE INDEX rule_account ON public.rule USING btree (account);
CREATE INDEX rule_expires_at ON public.rule USING btree (expires_at);
CREATE INDEX rule_history_rule_id ON public.rule_history USING btree (rule_id);
CREATE INDEX rule_history_scope_name ON public.rule_history USING btree (scope, name);
CREATE INDEX rule_scope_name ON public.rule USING btree (scope, name);
CREATE INDEX rule_subscription_id ON public.rule USING btree (subscription_id);
CREATE INDEX scope_account ON public.scope USING btree (account);
CREATE UNIQUE INDEX subscription_account_name ON public.subscription USING btree (account, name);
CREATE INDEX transfer_request_rule_id ON public.transfer_request USING btree (rule_id);
CREATE INDEX transfer_request_scope_name_dest_rse_id ON public.transfer_request USING btree (scope, name, dest_rse_id);
