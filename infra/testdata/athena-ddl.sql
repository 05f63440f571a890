CREATE EXTERNAL TABLE IF NOT EXISTS cloudtrail_logs_pp (
    eventversion STRING,
    useridentity STRUCT<
        type: STRING, principalid: STRING, arn: STRING, accountid: STRING,
        invokedby: STRING, accesskeyid: STRING, username: STRING,
        onbehalfof: STRUCT<userid: STRING, identitystorearn: STRING>,
        sessioncontext: STRUCT<
            attributes: STRUCT<mfaauthenticated: STRING, creationdate: STRING>,
            sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING, username: STRING>,
            ec2roledelivery: STRING,
            webidfederationdata: STRUCT<federatedprovider: STRING, attributes: map<string,string>>
        >
    >,
    eventtime STRING, eventsource STRING, eventname STRING, awsregion STRING,
    sourceipaddress STRING, useragent STRING, errorcode STRING, errormessage STRING,
    requestparameters STRING, responseelements STRING, additionaleventdata STRING,
    requestid STRING, eventid STRING, readonly STRING,
    resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,
    eventtype STRING, apiversion STRING, recipientaccountid STRING,
    serviceeventdetails STRING, sharedeventid STRING,
    vpcendpointid STRING, vpcendpointaccountid STRING, eventcategory STRING,
    addendum STRUCT<reason: STRING, updatedfields: STRING, originalrequestid: STRING, originaleventid: STRING>,
    sessioncredentialfromconsole STRING, edgedevicedetails STRING,
    tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>
)
PARTITIONED BY (`account` string, `region` string, `date` string)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://secretgate-trail-111122223333-eu-west-1/AWSLogs/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.account.type'='enum',
  'projection.account.values'='111122223333',
  'projection.region.type'='enum',
  'projection.region.values'='eu-west-1,us-east-1',
  'projection.date.type'='date',
  'projection.date.format'='yyyy/MM/dd',
  'projection.date.range'='2020/01/01,NOW',
  'projection.date.interval'='1',
  'projection.date.interval.unit'='DAYS',
  'storage.location.template'='s3://secretgate-trail-111122223333-eu-west-1/AWSLogs/${account}/CloudTrail/${region}/${date}'
);

CREATE OR REPLACE VIEW secretgate_events AS
WITH r AS (
  SELECT eventid, eventtime, eventsource, eventname, awsregion,
         coalesce(nullif(recipientaccountid, ''), useridentity.accountid, '') AS account_id,
         CASE WHEN awsregion LIKE 'cn-%' THEN 'aws-cn' WHEN awsregion LIKE 'us-gov-%' THEN 'aws-us-gov'
              WHEN awsregion LIKE 'us-isob-%' THEN 'aws-iso-b' WHEN awsregion LIKE 'us-iso-%' THEN 'aws-iso'
              ELSE 'aws' END AS part,
         coalesce(useridentity.arn, '') AS uarn, coalesce(useridentity.type, '') AS utype,
         coalesce(useridentity.accountid, '') AS uaccount, coalesce(useridentity.invokedby, '') AS invokedby,
         coalesce(useridentity.principalid, '') AS uprincipal,
         useridentity.sessioncontext.attributes.mfaauthenticated AS mfa_attr,
         requestparameters AS rp, additionaleventdata AS ad, serviceeventdetails AS sd, responseelements AS re,
         resources, coalesce(sourceipaddress, '') AS source_ip, coalesce(useragent, '') AS user_agent,
         coalesce(errorcode, '') AS error_code, coalesce(errormessage, '') AS error_message,
         "$path" AS file, "date" AS log_date
  FROM cloudtrail_logs_pp
  WHERE eventid IS NOT NULL),
-- One row per secret of a batch read and per parameter of a GetParameters.
x AS (
  SELECT r.*, t.item, t.n
  FROM r
  LEFT JOIN UNNEST(coalesce(
      CASE WHEN eventsource = 'secretsmanager.amazonaws.com' AND eventname = 'BatchGetSecretValue'
             THEN CAST(json_extract(rp, '$.secretIdList') AS array(varchar))
           WHEN eventsource = 'ssm.amazonaws.com'
             THEN CAST(json_extract(rp, '$.names') AS array(varchar)) END,
      CAST(ARRAY[] AS array(varchar)))) WITH ORDINALITY AS t (item, n) ON true),
-- What each row names, before normalising.
y AS (
  SELECT x.*,
    regexp_like(uarn, '^arn:[^:]*:[^:]*:[^:]*:[^:]*:assumed-role/') AS assumed,
    CASE
      WHEN eventsource = 'secretsmanager.amazonaws.com' AND n IS NOT NULL THEN item
      WHEN eventsource = 'secretsmanager.amazonaws.com' THEN coalesce(
        nullif(json_extract_scalar(ad, '$.SecretId'), ''),
        nullif(json_extract_scalar(sd, '$.secretId'), ''),
        CASE WHEN strpos(coalesce(json_extract_scalar(re, '$.ARN'), json_extract_scalar(re, '$.aRN'), json_extract_scalar(re, '$.arn'), ''), ':secretsmanager:') > 0
             THEN coalesce(json_extract_scalar(re, '$.ARN'), json_extract_scalar(re, '$.aRN'), json_extract_scalar(re, '$.arn')) END,
        nullif(json_extract_scalar(rp, '$.secretId'), ''),
        json_extract_scalar(rp, '$.name'), '')
      WHEN eventsource = 'kms.amazonaws.com' THEN coalesce(json_extract_scalar(rp, '$.encryptionContext.SecretARN'), '')
      ELSE '' END AS raw_secret,
    CASE
      WHEN eventsource = 'secretsmanager.amazonaws.com' AND n IS NULL THEN coalesce(json_extract_scalar(rp, '$.kmsKeyId'), '')
      WHEN eventsource = 'kms.amazonaws.com' THEN coalesce(
        element_at(filter(resources, k -> strpos(k.arn, ':kms:') > 0 AND coalesce(k.type, '') IN ('', 'AWS::KMS::Key')), 1).arn,
        json_extract_scalar(rp, '$.keyId'), '')
      WHEN eventsource = 'ssm.amazonaws.com' AND n IS NULL THEN coalesce(json_extract_scalar(rp, '$.keyId'), '')
      ELSE '' END AS raw_key,
    CASE
      WHEN eventsource = 'kms.amazonaws.com' THEN coalesce(json_extract_scalar(rp, '$.encryptionContext.PARAMETER_ARN'), '')
      WHEN eventsource = 'ssm.amazonaws.com' AND n IS NOT NULL THEN item
      WHEN eventsource = 'ssm.amazonaws.com' THEN coalesce(nullif(json_extract_scalar(rp, '$.name'), ''), json_extract_scalar(rp, '$.path'), '')
      ELSE '' END AS raw_param
  FROM x),
z AS (
  SELECT y.*,
    CASE WHEN strpos(raw_param, ':parameter') > 0
         THEN regexp_replace(substr(raw_param, strpos(raw_param, ':parameter') + 10), '^/', '') END AS param_rest,
    substr(uarn, strpos(uarn, ':assumed-role/') + 14) AS role_rest
  FROM y)
SELECT
  CASE WHEN n IS NULL THEN eventid ELSE eventid || '#' || CAST(n AS varchar) END AS event_id,
  CAST(round(to_unixtime(from_iso8601_timestamp(eventtime)) * 1000) AS bigint) AS event_time,
  coalesce(eventsource, '') AS event_source,
  coalesce(eventname, '') AS event_name,
  coalesce(awsregion, '') AS region,
  account_id,
  CASE WHEN assumed THEN 'arn:' || split_part(uarn, ':', 2) || ':iam::' || split_part(uarn, ':', 5) || ':role/' || split_part(role_rest, '/', 1)
       WHEN uarn <> '' THEN uarn
       WHEN utype = 'AWSAccount' AND uaccount <> '' THEN uaccount
       WHEN invokedby <> '' THEN invokedby
       ELSE uprincipal END AS principal,
  CASE WHEN assumed THEN 'AssumedRole'
       WHEN uarn = '' AND NOT (utype = 'AWSAccount' AND uaccount <> '') AND invokedby <> '' AND utype = '' THEN 'AWSService'
       ELSE utype END AS principal_type,
  CASE WHEN assumed THEN coalesce(regexp_extract(role_rest, '^[^/]*/(.*)$', 1), '') ELSE '' END AS session_name,
  CASE WHEN mfa_attr = 'true'
         OR (eventsource = 'signin.amazonaws.com' AND json_extract_scalar(ad, '$.MFAUsed') = 'Yes')
         OR (eventsource = 'sts.amazonaws.com' AND coalesce(json_extract_scalar(rp, '$.serialNumber'), '') <> '')
       THEN 1 ELSE 0 END AS mfa,
  source_ip,
  user_agent,
  CASE WHEN raw_secret = '' THEN ''
       WHEN raw_secret NOT LIKE 'arn:%' THEN 'arn:' || part || ':secretsmanager:' || awsregion || ':' || account_id || ':secret:' || raw_secret
       ELSE regexp_replace(raw_secret, '^(.*?:secret:.+)-[A-Za-z0-9]{6}$', '$1') END AS secret_id,
  CASE WHEN raw_key = '' OR raw_key LIKE 'arn:%' THEN raw_key
       WHEN raw_key LIKE 'alias/%' THEN 'arn:' || part || ':kms:' || awsregion || ':' || account_id || ':' || raw_key
       ELSE 'arn:' || part || ':kms:' || awsregion || ':' || account_id || ':key/' || raw_key END AS key_id,
  CASE WHEN raw_param NOT LIKE 'arn:%' THEN split_part(raw_param, ':', 1)
       WHEN param_rest IS NULL THEN raw_param
       WHEN strpos(param_rest, '/') > 0 THEN '/' || param_rest
       ELSE param_rest END AS parameter_name,
  error_code,
  error_message,
  CASE WHEN eventsource = 'secretsmanager.amazonaws.com' AND n IS NULL AND eventname = 'GetSecretValue' THEN 1
       WHEN eventsource = 'ssm.amazonaws.com' AND json_extract_scalar(rp, '$.withDecryption') = 'true'
            AND eventname IN ('GetParameter', 'GetParameters', 'GetParametersByPath', 'GetParameterHistory') THEN 1
       ELSE 0 END AS is_read,
  CASE WHEN eventsource = 'kms.amazonaws.com' AND raw_secret <> '' AND invokedby = 'secretsmanager.amazonaws.com'
       THEN 'secretsmanager' ELSE '' END AS via,
  file,
  log_date
FROM z
;
