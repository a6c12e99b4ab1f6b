"""Personal-information protection (个人信息保护) beyond encryption: retention periods with
anonymisation, and data-subject requests (个人信息权利请求). See docs/personal-data.md."""
